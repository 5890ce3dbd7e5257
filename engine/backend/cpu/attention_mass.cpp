// Where a CPU session's decode steps attend (Session::collect_attention_mass).
//
// Which layers count: those that see every key. Gemma 3's sliding-window layers see only the last
// sliding_window keys, so they could only ever point at the question's neighbourhood, never at a
// passage far back in the document; Llama's layers all count. Each counted layer's probabilities
// are averaged over its heads (a layer sums to 1 over the keys) and the layers are averaged, so a
// decoded token adds exactly 1 to the mass, spread over the positions it attended to. (A prefill
// chunk adds nothing: attention() collects on decode steps only.)
#include "backend/cpu/cpu_session.h"

namespace selfextend::cpu {

bool CpuSession::collect_attention_mass(std::vector<float>* mass) {
    mass_ = mass;
    return true;
}

const AttentionMass* CpuSession::attention_mass_of(int layer, int64_t n) {
    if (!mass_ || hp_.key_window(layer) > 0) return nullptr;
    int counted = 0;
    for (int l = 0; l < hp_.layer_count; ++l) counted += hp_.key_window(l) == 0 ? 1 : 0;
    if (mass_->size() < size_t(length_ + n)) mass_->resize(size_t(length_ + n), 0.0f);
    layer_mass_ = {mass_->data(), 1.0f / float(int64_t(hp_.head_count) * counted)};
    return &layer_mass_;
}

}  // namespace selfextend::cpu
