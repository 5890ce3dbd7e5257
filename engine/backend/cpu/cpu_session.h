// A CPU session: the KV cache, the RoPE tables and one chunk's activations, with one layer
// function per model graph (as GGUF runtimes keep one graph per architecture; a family's entry
// in engine/model/families/ names its graph): llama_layer in llama_graph.cpp (Llama, Qwen2,
// Gemma, Phi-3, which differ by HyperParams switches only), gemma3_layer in gemma3_graph.cpp,
// phi2_layer in phi2_graph.cpp. All use the same kernels
// (matmul, attention, norms, RoPE) and the helpers below.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/attention.h"
#include "backend/cpu/kv_cache.h"
#include "backend/cpu/thread_pool.h"
#include "backend/rope_table.h"
#include "model/hyper_params.h"
#include "model/model_weights.h"

namespace selfextend::cpu {

class CpuSession final : public detail::BackendSession {
  public:
    static constexpr int64_t kMaxChunk = 256;  // tokens per forward pass: cache-sized activations

    CpuSession(const HyperParams& hp, const ModelWeights& weights, ThreadPool& pool,
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
    int64_t kv_blocks() const override;
    void export_kv(const std::function<void(const void*, size_t)>& sink) const override;
    void import_kv(int64_t length, const std::function<void(void*, size_t)>& source) override;
    bool collect_attention_mass(std::vector<float>* mass) override;
    bool observe_layers(LayerObserver observer) override;

    // Which layers keep grouped keys (kv_cache.h) in a session of this mode.
    static std::vector<bool> grouping_layers(const HyperParams& hp, const AttentionMode& mode);

  private:
    // The layer graphs: x_ (n rows of the residual stream) in, x_ out.
    void llama_layer(int layer, int64_t n);
    void gemma3_layer(int layer, int64_t n);
    void phi2_layer(int layer, int64_t n);

    // Shared steps of the graphs.
    // Rotates the n rows of q_ (and fills q_grouped_ when the layer groups) and k_ to their
    // positions with the layer's table, and stores K and V in the layer's cache (and K at its
    // grouped position when the layer groups).
    void rotate_and_store(int layer, int64_t n);
    // attn_ = attention of q_ over the layer's cache, with its key window and attention mode.
    void attend(int layer, int64_t n);
    // Half-split (NEOX) models: moves the rotary pairs of every head of q_ and k_ to the
    // adjacent-pair layout of the RoPE table and the cache (rope_table.h); nothing otherwise.
    void to_adjacent_pairs(int64_t n);
    // The model's norm of n rows of the residual stream: RMSNorm with `weight`, or LayerNorm
    // with `weight` and `bias` (hp.norm).
    void block_norm(const float* in, const std::vector<float>& weight,
                    const std::vector<float>& bias, float* out, int64_t n) const;
    // Where attend() adds a decode step's attention for this layer (attention_mass.cpp): null
    // when nothing is collected or the layer sees only a sliding window.
    const AttentionMass* attention_mass_of(int layer, int64_t n);
    // out[t] = rms_norm(in[t]) * weight for n rows of `width` values (in and out may alias).
    void norm_rows(const float* in, const std::vector<float>& weight, float* out, int64_t n,
                   int64_t width) const;

    // The attention mode of a layer: Self-Extend where it applies, vanilla elsewhere.
    const AttentionMode& mode_of(int layer) const;
    bool groups(int layer) const { return !mode_of(layer).is_vanilla(); }
    const RopeTable& rope_of(int layer) const;
    // The tables a session of `capacity` tokens needs (global, and local when the model has
    // sliding-window layers with their own frequencies).
    static RopeTable global_table(const HyperParams& hp, int64_t capacity,
                                  const AttentionMode& mode);
    static std::optional<RopeTable> local_table(const HyperParams& hp, int64_t capacity);

    // Every (layer, K|V, KV head) block of the cache in the transfer order of backend.h.
    template <typename Visit>
    void for_each_block(Visit&& visit) const;

    const HyperParams& hp_;
    const ModelWeights& w_;
    ThreadPool& pool_;
    const AttentionMode mode_;
    const AttentionMode vanilla_ = AttentionMode::vanilla();
    const bool self_extend_;
    int64_t length_ = 0;
    RopeTable rope_;                       // global layers: covers positions_for(capacity)
    std::optional<RopeTable> rope_local_;  // sliding-window layers: covers capacity
    KvCache cache_;                        // K at its own position j (and at j / G), V
    LayerObserver observer_;               // called after each layer when set (tests)
    std::vector<float>* mass_ = nullptr;   // the attention mass collected, when asked for
    AttentionMass layer_mass_;             // what attention_mass_of hands out
    // Activations for one chunk.
    std::vector<float> x_, h_, q_, q_grouped_, k_, v_, attn_, gate_, up_;
    std::vector<float> k_grouped_;  // one token's K rotated at its grouped position
};

}  // namespace selfextend::cpu
