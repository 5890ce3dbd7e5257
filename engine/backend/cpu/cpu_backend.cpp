#include "backend/cpu/cpu_backend.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <vector>

#include "attention/position_rule.h"
#include "backend/cpu/attention.h"
#include "backend/cpu/matmul.h"
#include "backend/cpu/vector_math.h"
#include "backend/host_memory.h"
#include "backend/rope_table.h"
#include "selfextend/error.h"

namespace selfextend::cpu {

namespace {

constexpr int64_t kMaxChunk = 256;  // tokens per forward pass: activations stay cache-sized

class CpuSession final : public detail::BackendSession {
  public:
    CpuSession(const HyperParams& hp, const LlamaWeights& weights, ThreadPool& pool,
               int64_t capacity, const AttentionMode& mode);

    void forward(std::span<const int32_t> tokens, int64_t logit_rows, float* logits) override;
    int64_t length() const override { return length_; }
    int64_t capacity() const override { return capacity_; }
    void truncate(int64_t n) override { length_ = std::min(length_, n); }
    uint64_t kv_cache_bytes() const override { return cache_.size() * sizeof(float); }
    int64_t max_chunk() const override { return kMaxChunk; }

  private:
    // Cache layout: [layer][keys | values][kv head][position][head_dim]; keys rotated at their
    // own position (attention re-rotates them for grouped pairs).
    static constexpr int kKeys = 0, kValues = 1, kParts = 2;
    float* cache_part(int layer, int part) {
        return cache_.data() + (int64_t(layer) * kParts + part) * part_size_;
    }
    void layer_forward(int layer, int64_t n);

    const HyperParams& hp_;
    const LlamaWeights& w_;
    ThreadPool& pool_;
    const int64_t capacity_;
    const AttentionMode mode_;
    const bool self_extend_;
    const int64_t part_size_;
    int64_t length_ = 0;
    RopeTable rope_;
    std::vector<float> cache_;
    // Activations for one chunk.
    std::vector<float> x_, h_, q_, q_grouped_, k_, v_, attn_, gate_, up_;
};

CpuSession::CpuSession(const HyperParams& hp, const LlamaWeights& weights, ThreadPool& pool,
                       int64_t capacity, const AttentionMode& mode)
    : hp_(hp),
      w_(weights),
      pool_(pool),
      capacity_(capacity),
      mode_(mode),
      self_extend_(!mode.is_vanilla()),
      part_size_(int64_t(hp.head_count_kv) * capacity * hp.head_dim),
      rope_(hp, RopeTable::positions_for(capacity, mode)) {
    const uint64_t bytes = uint64_t(hp.layer_count) * kParts * part_size_ * sizeof(float);
    require_host_memory(bytes, "the KV cache of " + std::to_string(capacity) + " tokens");
    try {
        cache_.resize(bytes / sizeof(float));
        const int64_t e = hp.embedding_length;
        x_.resize(size_t(kMaxChunk * e));
        h_.resize(size_t(kMaxChunk * e));
        q_.resize(size_t(kMaxChunk * hp.q_dim()));
        if (self_extend_) q_grouped_.resize(size_t(kMaxChunk * hp.q_dim()));
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

void CpuSession::forward(std::span<const int32_t> tokens, int64_t logit_rows, float* logits) {
    const int64_t n = int64_t(tokens.size());
    if (n == 0) return;
    if (n > kMaxChunk) throw Error("forward: chunk larger than " + std::to_string(kMaxChunk));
    if (length_ + n > capacity_)
        throw Error("the session's context of " + std::to_string(capacity_) + " tokens is full");
    const int64_t e = hp_.embedding_length;
    for (int64_t t = 0; t < n; ++t) {
        const int32_t id = tokens[size_t(t)];
        if (id < 0 || id >= hp_.vocab_size)
            throw Error("token id " + std::to_string(id) + " is out of the vocabulary");
        w_.token_embedding.dtype->dequantize_row(w_.token_embedding.row(id), x_.data() + t * e, e);
    }
    for (int layer = 0; layer < hp_.layer_count; ++layer) layer_forward(layer, n);
    length_ += n;

    logit_rows = std::clamp<int64_t>(logit_rows, 0, n);
    if (logit_rows == 0) return;
    const int64_t first_row = n - logit_rows;
    for (int64_t t = first_row; t < n; ++t)
        rms_norm(x_.data() + t * e, w_.output_norm.data(), h_.data() + (t - first_row) * e, e,
                 hp_.norm_eps);
    matmul(w_.output, h_.data(), logit_rows, logits, pool_);
}

void CpuSession::layer_forward(int layer, int64_t n) {
    const LayerWeights& lw = w_.layers[size_t(layer)];
    const int64_t e = hp_.embedding_length;
    const int hd = hp_.head_dim;
    const int64_t first = length_;

    for (int64_t t = 0; t < n; ++t)
        rms_norm(x_.data() + t * e, lw.attention_norm.data(), h_.data() + t * e, e, hp_.norm_eps);
    matmul(lw.wq, h_.data(), n, q_.data(), pool_);
    matmul(lw.wk, h_.data(), n, k_.data(), pool_);
    matmul(lw.wv, h_.data(), n, v_.data(), pool_);

    // Rotate, and store K (at its position j) and V into the cache.
    float* keys = cache_part(layer, kKeys);
    float* values = cache_part(layer, kValues);
    for (int64_t t = 0; t < n; ++t) {
        const int64_t i = first + t;
        float* q_row = q_.data() + t * hp_.q_dim();
        if (self_extend_) {
            float* qg_row = q_grouped_.data() + t * hp_.q_dim();
            std::memcpy(qg_row, q_row, sizeof(float) * size_t(hp_.q_dim()));
            rope_.rotate(qg_row, hp_.head_count, hd,
                         position_rule::grouped_query_position(i, mode_.group, mode_.window));
        }
        rope_.rotate(q_row, hp_.head_count, hd, i);
        const float* k_row = k_.data() + t * hp_.kv_dim();
        const float* v_row = v_.data() + t * hp_.kv_dim();
        for (int kv = 0; kv < hp_.head_count_kv; ++kv) {
            const int64_t slot = (kv * capacity_ + i) * hd;
            std::memcpy(keys + slot, k_row + kv * hd, sizeof(float) * size_t(hd));
            std::memcpy(values + slot, v_row + kv * hd, sizeof(float) * size_t(hd));
            rope_.rotate(keys + slot, 1, hd, i);
        }
    }

    const AttentionShape shape{hp_.head_count, hp_.head_count_kv, hd};
    const KvLayerView view{keys, values, capacity_};
    attention(shape, mode_, q_.data(), self_extend_ ? q_grouped_.data() : nullptr, view, rope_,
              first, n, attn_.data(), pool_);

    matmul(lw.wo, attn_.data(), n, h_.data(), pool_);
    for (int64_t k = 0; k < n * e; ++k) x_[size_t(k)] += h_[size_t(k)];

    for (int64_t t = 0; t < n; ++t)
        rms_norm(x_.data() + t * e, lw.ffn_norm.data(), h_.data() + t * e, e, hp_.norm_eps);
    matmul(lw.ffn_gate, h_.data(), n, gate_.data(), pool_);
    matmul(lw.ffn_up, h_.data(), n, up_.data(), pool_);
    silu_mul(gate_.data(), up_.data(), n * hp_.feed_forward_length);
    matmul(lw.ffn_down, gate_.data(), n, h_.data(), pool_);
    for (int64_t k = 0; k < n * e; ++k) x_[size_t(k)] += h_[size_t(k)];
}

}  // namespace

CpuBackend::CpuBackend(const HyperParams& hp, const LlamaWeights& weights, int threads)
    : hp_(hp), weights_(weights), pool_(threads) {
    if (hp.head_dim % kLanes != 0)
        throw Error("the CPU backend needs a head dimension that is a multiple of 16 (model has " +
                    std::to_string(hp.head_dim) + ")");
}

std::string CpuBackend::device_name() const {
    return "CPU (" + std::to_string(pool_.size()) + (pool_.size() == 1 ? " thread)" : " threads)");
}

std::unique_ptr<detail::BackendSession> CpuBackend::new_session(int64_t context_length,
                                                                const AttentionMode& mode) {
    return std::make_unique<CpuSession>(hp_, weights_, pool_, context_length, mode);
}

}  // namespace selfextend::cpu
