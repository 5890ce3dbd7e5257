#include "backend/cpu/cpu_backend.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <utility>
#include <vector>

#include "attention/position_rule.h"
#include "backend/cpu/attention.h"
#include "backend/cpu/cpu_session.h"
#include "backend/cpu/kernels.h"
#include "backend/cpu/kv_cache.h"
#include "backend/cpu/kv_row.h"
#include "backend/cpu/vector_math.h"
#include "backend/rope_table.h"
#include "selfextend/error.h"

namespace selfextend::cpu {

RopeTable CpuSession::global_table(const HyperParams& hp, int64_t capacity,
                                   const AttentionMode& mode) {
    return RopeTable(hp.global_rope(), RopeTable::positions_for(capacity, mode));
}

std::optional<RopeTable> CpuSession::local_table(const HyperParams& hp, int64_t capacity) {
    for (int layer = 0; layer < hp.layer_count; ++layer)
        if (hp.is_local(layer) && !(hp.rope(layer) == hp.global_rope()))
            return RopeTable(hp.rope(layer), capacity);  // local layers never group
    return std::nullopt;
}

std::vector<bool> CpuSession::grouping_layers(const HyperParams& hp, const AttentionMode& mode) {
    std::vector<bool> grouping(size_t(hp.layer_count), false);
    if (!mode.is_vanilla())
        for (int layer = 0; layer < hp.layer_count; ++layer)
            grouping[size_t(layer)] = hp.self_extend_applies(layer);
    return grouping;
}

CpuSession::CpuSession(const HyperParams& hp, const ModelWeights& weights, ThreadPool& pool,
                       int64_t capacity, const AttentionMode& mode, KvType kv_type)
    : hp_(hp),
      w_(weights),
      pool_(pool),
      mode_(mode),
      self_extend_(!mode.is_vanilla()),
      rope_(global_table(hp, capacity, mode)),
      rope_local_(local_table(hp, capacity)),
      cache_(hp.layer_count, hp.head_count_kv, hp.head_dim, capacity, kv_type,
             grouping_layers(hp, mode)) {
    try {
        const int64_t e = hp.embedding_length;
        x_.resize(size_t(kMaxChunk * e));
        h_.resize(size_t(kMaxChunk * e));
        q_.resize(size_t(kMaxChunk * hp.q_dim()));
        if (self_extend_) {
            q_grouped_.resize(size_t(kMaxChunk * hp.q_dim()));
            k_grouped_.resize(size_t(hp.kv_dim()));
        }
        k_.resize(size_t(kMaxChunk * hp.kv_dim()));
        v_.resize(size_t(kMaxChunk * hp.kv_dim()));
        attn_.resize(size_t(kMaxChunk * hp.q_dim()));
        gate_.resize(size_t(kMaxChunk * hp.feed_forward_length));
        up_.resize(size_t(kMaxChunk * hp.feed_forward_length));
    } catch (const std::bad_alloc&) {
        throw OutOfMemory("out of host memory for a session of " + std::to_string(capacity) +
                          " tokens");
    }
}

bool CpuSession::reserve(int64_t capacity) {
    if (capacity <= cache_.capacity()) return true;
    // The new tables first: if any allocation fails the session is left as it was.
    RopeTable rope = global_table(hp_, capacity, mode_);
    std::optional<RopeTable> rope_local = local_table(hp_, capacity);
    cache_.grow(capacity, length_);
    rope_ = std::move(rope);
    rope_local_ = std::move(rope_local);
    return true;
}

template <typename Visit>
void CpuSession::for_each_block(Visit&& visit) const {
    for (int layer = 0; layer < hp_.layer_count; ++layer)
        for (const KvCache::Part part : {KvCache::kKeys, KvCache::kValues, KvCache::kGroupedKeys})
            if (part != KvCache::kGroupedKeys || cache_.groups(layer))
                for (int kv = 0; kv < hp_.head_count_kv; ++kv) visit(layer, part, kv);
}

int64_t CpuSession::kv_blocks() const {
    int64_t blocks = 0;
    for_each_block([&](int, KvCache::Part, int) { ++blocks; });
    return blocks;
}

void CpuSession::export_kv(const std::function<void(const void*, size_t)>& sink) const {
    const size_t bytes = size_t(length_) * cache_.row_bytes();
    for_each_block(
        [&](int layer, KvCache::Part part, int kv) { sink(cache_.block(layer, part, kv), bytes); });
}

void CpuSession::import_kv(int64_t length, const std::function<void(void*, size_t)>& source) {
    if (length < 0 || length > cache_.capacity())
        throw Error("import_kv: " + std::to_string(length) + " tokens do not fit a cache of " +
                    std::to_string(cache_.capacity()));
    const size_t bytes = size_t(length) * cache_.row_bytes();
    length_ = 0;  // a source that throws leaves an empty session, never a half-filled one
    for_each_block([&](int layer, KvCache::Part part, int kv) {
        source(cache_.block(layer, part, kv), bytes);
    });
    length_ = length;
}

const AttentionMode& CpuSession::mode_of(int layer) const {
    return hp_.self_extend_applies(layer) ? mode_ : vanilla_;
}

const RopeTable& CpuSession::rope_of(int layer) const {
    return hp_.is_local(layer) && rope_local_ ? *rope_local_ : rope_;
}

void CpuSession::forward(std::span<const int32_t> tokens, int64_t logit_rows, float* logits) {
    const int64_t n = int64_t(tokens.size());
    if (n == 0) return;
    if (n > kMaxChunk) throw Error("forward: chunk larger than " + std::to_string(kMaxChunk));
    if (length_ + n > capacity())
        throw Error("the session's context of " + std::to_string(capacity()) + " tokens is full");
    const int64_t e = hp_.embedding_length;
    for (int64_t t = 0; t < n; ++t) {
        const int32_t id = tokens[size_t(t)];
        if (id < 0 || id >= hp_.vocab_size)
            throw Error("token id " + std::to_string(id) + " is out of the vocabulary");
        float* row = x_.data() + t * e;
        w_.token_embedding.dtype->dequantize_row(w_.token_embedding.row(id), row, e);
        if (hp_.embedding_scale != 1.0f)
            for (int64_t k = 0; k < e; ++k) row[k] *= hp_.embedding_scale;
    }
    for (int layer = 0; layer < hp_.layer_count; ++layer) {
        switch (hp_.family->graph) {
            case LayerGraph::Llama:
                llama_layer(layer, n);
                break;
            case LayerGraph::Gemma3:
                gemma3_layer(layer, n);
                break;
            case LayerGraph::Phi2:
                phi2_layer(layer, n);
                break;
        }
        if (observer_) observer_(layer, length_, n, x_.data());
    }
    length_ += n;

    logit_rows = std::clamp<int64_t>(logit_rows, 0, n);
    if (logit_rows == 0) return;
    const int64_t first_row = n - logit_rows;
    block_norm(x_.data() + first_row * e, w_.output_norm, w_.output_norm_bias, h_.data(),
               logit_rows);
    kernels().matmul(w_.output, h_.data(), logit_rows, logits, pool_);
    if (!w_.output_bias.empty())
        add_row_bias(logits, w_.output_bias.data(), logit_rows, hp_.vocab_size);
}

bool CpuSession::observe_layers(LayerObserver observer) {
    observer_ = std::move(observer);
    return true;
}

void CpuSession::block_norm(const float* in, const std::vector<float>& weight,
                            const std::vector<float>& bias, float* out, int64_t n) const {
    const int64_t e = hp_.embedding_length;
    if (hp_.norm == NormKind::Rms) {
        norm_rows(in, weight, out, n, e);
        return;
    }
    for (int64_t t = 0; t < n; ++t)
        layer_norm(in + t * e, weight.data(), bias.data(), out + t * e, e, hp_.norm_eps);
}

void CpuSession::to_adjacent_pairs(int64_t n) {
    if (hp_.rope_layout != RopeLayout::HalfSplit) return;
    RopeTable::interleave_halves(q_.data(), int(n * hp_.head_count), hp_.head_dim,
                                 hp_.rope_dimensions);
    RopeTable::interleave_halves(k_.data(), int(n * hp_.head_count_kv), hp_.head_dim,
                                 hp_.rope_dimensions);
}

void CpuSession::norm_rows(const float* in, const std::vector<float>& weight, float* out, int64_t n,
                           int64_t width) const {
    for (int64_t t = 0; t < n; ++t)
        rms_norm(in + t * width, weight.data(), out + t * width, width, hp_.norm_eps);
}

void CpuSession::rotate_and_store(int layer, int64_t n) {
    const int hd = hp_.head_dim;
    const RopeTable& rope = rope_of(layer);
    const bool grouped = groups(layer);
    for (int64_t t = 0; t < n; ++t) {
        const int64_t i = length_ + t;
        float* q_row = q_.data() + t * hp_.q_dim();
        if (grouped) {
            float* qg_row = q_grouped_.data() + t * hp_.q_dim();
            std::memcpy(qg_row, q_row, sizeof(float) * size_t(hp_.q_dim()));
            rope.rotate(qg_row, hp_.head_count, hd,
                        position_rule::grouped_query_position(i, mode_.group, mode_.window));
        }
        rope.rotate(q_row, hp_.head_count, hd, i);
        float* k_row = k_.data() + t * hp_.kv_dim();
        const float* v_row = v_.data() + t * hp_.kv_dim();
        if (grouped) {  // K at its grouped position, rounded once like the others (kv_cache.h)
            float* kg_row = k_grouped_.data();
            std::memcpy(kg_row, k_row, sizeof(float) * size_t(hp_.kv_dim()));
            rope.rotate(kg_row, hp_.head_count_kv, hd,
                        position_rule::grouped_key_position(i, mode_.group));
            for (int kv = 0; kv < hp_.head_count_kv; ++kv)
                cache_.store(layer, KvCache::kGroupedKeys, kv, i, kg_row + kv * hd);
        }
        rope.rotate(k_row, hp_.head_count_kv, hd, i);
        // K at its position j and V, rounded to the cache's type.
        for (int kv = 0; kv < hp_.head_count_kv; ++kv) {
            cache_.store(layer, KvCache::kKeys, kv, i, k_row + kv * hd);
            cache_.store(layer, KvCache::kValues, kv, i, v_row + kv * hd);
        }
    }
}

void CpuSession::attend(int layer, int64_t n) {
    const AttentionShape shape{hp_.head_count, hp_.head_count_kv, hp_.head_dim,
                               hp_.key_window(layer)};
    kernels().attention(shape, mode_of(layer), q_.data(),
                        groups(layer) ? q_grouped_.data() : nullptr, cache_.layer(layer), length_,
                        n, attn_.data(), pool_, attention_mass_of(layer, n));
}

CpuBackend::CpuBackend(const HyperParams& hp, const ModelWeights& weights, int threads)
    : hp_(hp), weights_(weights), pool_(threads) {
    kernels();  // chosen now: a bad SE_CPU_KERNELS fails the load, in plain words
    if (hp.head_dim % kLanes != 0)
        throw Error("the CPU backend needs a head dimension that is a multiple of 16 (model has " +
                    std::to_string(hp.head_dim) + ")");
}

std::string CpuBackend::device_name() const {
    return "CPU (" + std::to_string(pool_.size()) +
           (pool_.size() == 1 ? " thread, " : " threads, ") + kernels_in_use() + " kernels)";
}

// Q8_0 rows are whole blocks of 32 values: a head dimension that is not a multiple of 32 is
// stored as F16 instead (the session's kv_type() says so).
KvType CpuBackend::stored_type(KvType asked) const {
    return kv_type_fits(asked, hp_.head_dim) ? asked : KvType::F16;
}

std::unique_ptr<detail::BackendSession> CpuBackend::new_session(int64_t context_length,
                                                                const AttentionMode& mode,
                                                                KvType kv_type) {
    return std::make_unique<CpuSession>(hp_, weights_, pool_, context_length, mode,
                                        stored_type(kv_type));
}

uint64_t CpuBackend::kv_bytes_per_token(KvType kv_type, const AttentionMode& mode) const {
    // K and V rows for every layer and KV head, and grouped K rows for the layers that group.
    const std::vector<bool> grouping = CpuSession::grouping_layers(hp_, mode);
    const auto rows =
        uint64_t(2 * hp_.layer_count + std::count(grouping.begin(), grouping.end(), true));
    return rows * uint64_t(hp_.head_count_kv) * kv_row_bytes(stored_type(kv_type), hp_.head_dim);
}

}  // namespace selfextend::cpu
