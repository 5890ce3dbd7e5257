#include "backend/cpu/cpu_backend.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <vector>

#include "attention/position_rule.h"
#include "backend/cpu/attention.h"
#include "backend/cpu/kv_cache.h"
#include "backend/cpu/kv_row.h"
#include "backend/cpu/matmul.h"
#include "backend/cpu/vector_math.h"
#include "backend/rope_table.h"
#include "selfextend/error.h"

namespace selfextend::cpu {

namespace {

constexpr int64_t kMaxChunk = 256;  // tokens per forward pass: activations stay cache-sized

class CpuSession final : public detail::BackendSession {
  public:
    CpuSession(const HyperParams& hp, const LlamaWeights& weights, ThreadPool& pool,
               int64_t capacity, const AttentionMode& mode, KvType kv_type);

    void forward(std::span<const int32_t> tokens, int64_t logit_rows, float* logits) override;
    int64_t length() const override { return length_; }
    int64_t capacity() const override { return cache_.capacity(); }
    void truncate(int64_t n) override { length_ = std::min(length_, n); }
    uint64_t kv_cache_bytes() const override { return cache_.bytes(); }
    int64_t max_chunk() const override { return kMaxChunk; }
    KvType kv_type() const override { return cache_.type(); }
    bool reserve(int64_t capacity) override;
    bool can_transfer_kv() const override { return true; }
    void export_kv(const std::function<void(const void*, size_t)>& sink) const override;
    void import_kv(int64_t length, const std::function<void(void*, size_t)>& source) override;

  private:
    void layer_forward(int layer, int64_t n);
    // Every (layer, K|V, KV head) block of the cache in the transfer order of backend.h.
    template <typename Visit>
    void for_each_block(Visit&& visit) const;

    const HyperParams& hp_;
    const LlamaWeights& w_;
    ThreadPool& pool_;
    const AttentionMode mode_;
    const bool self_extend_;
    int64_t length_ = 0;
    RopeTable rope_;  // covers RopeTable::positions_for(capacity)
    KvCache cache_;   // K rotated at its own position j; attention re-rotates grouped pairs
    // Activations for one chunk.
    std::vector<float> x_, h_, q_, q_grouped_, k_, v_, attn_, gate_, up_;
};

CpuSession::CpuSession(const HyperParams& hp, const LlamaWeights& weights, ThreadPool& pool,
                       int64_t capacity, const AttentionMode& mode, KvType kv_type)
    : hp_(hp),
      w_(weights),
      pool_(pool),
      mode_(mode),
      self_extend_(!mode.is_vanilla()),
      rope_(hp, RopeTable::positions_for(capacity, mode)),
      cache_(hp.layer_count, hp.head_count_kv, hp.head_dim, capacity, kv_type) {
    try {
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

bool CpuSession::reserve(int64_t capacity) {
    if (capacity <= cache_.capacity()) return true;
    // The new table first: if either allocation fails the session is left as it was.
    RopeTable rope(hp_, RopeTable::positions_for(capacity, mode_));
    cache_.grow(capacity, length_);
    rope_ = std::move(rope);
    return true;
}

template <typename Visit>
void CpuSession::for_each_block(Visit&& visit) const {
    for (int layer = 0; layer < hp_.layer_count; ++layer)
        for (const KvCache::Part part : {KvCache::kKeys, KvCache::kValues})
            for (int kv = 0; kv < hp_.head_count_kv; ++kv) visit(layer, part, kv);
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

    // Rotate, and store K (at its position j) and V into the cache, rounded to its type.
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
        float* k_row = k_.data() + t * hp_.kv_dim();
        const float* v_row = v_.data() + t * hp_.kv_dim();
        rope_.rotate(k_row, hp_.head_count_kv, hd, i);
        for (int kv = 0; kv < hp_.head_count_kv; ++kv) {
            cache_.store(layer, KvCache::kKeys, kv, i, k_row + kv * hd);
            cache_.store(layer, KvCache::kValues, kv, i, v_row + kv * hd);
        }
    }

    const AttentionShape shape{hp_.head_count, hp_.head_count_kv, hd};
    attention(shape, mode_, q_.data(), self_extend_ ? q_grouped_.data() : nullptr,
              cache_.layer(layer), rope_, first, n, attn_.data(), pool_);

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

uint64_t CpuBackend::kv_bytes_per_token(KvType kv_type) const {
    // K and V rows for every layer and KV head (Self-Extend caches K once too).
    return uint64_t(hp_.layer_count) * 2 * uint64_t(hp_.head_count_kv) *
           kv_row_bytes(stored_type(kv_type), hp_.head_dim);
}

}  // namespace selfextend::cpu
