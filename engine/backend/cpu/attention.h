// Causal attention over the KV cache, vanilla or Self-Extend, streamed over key blocks with an
// online softmax: memory stays O(n d), no n x n score matrix is ever formed. A prefill chunk is
// split across threads by (KV head, block of queries); a decode step (a few queries) by ranges
// of keys instead (split-K, "flash decoding"): each range keeps its own softmax state and the
// ranges are merged by their log-sum-exp, so one token uses every core at any context length.
#pragma once

#include <cstddef>
#include <cstdint>

#include "selfextend/attention_mode.h"
#include "selfextend/engine.h"

namespace selfextend::cpu {

class ThreadPool;

struct AttentionShape {
    int heads = 0;
    int kv_heads = 0;
    int head_dim = 0;  // a multiple of 16
    // Sliding-window layers (Gemma 3's local ones): query i sees keys j > i - key_window only.
    // 0: every key up to i.
    int64_t key_window = 0;
};

// One layer's cache, head-major: key j of KV head h is the row at (h * capacity + j) * row_bytes,
// stored as `type` (kv_row.h). keys: rotated at the key's own position j; grouped_keys: the same
// keys rotated at their grouped position j / G (kv_cache.h), which Self-Extend needs.
struct KvLayerView {
    const std::byte* keys = nullptr;
    const std::byte* values = nullptr;
    const std::byte* grouped_keys = nullptr;  // null for a layer that does not group
    int64_t capacity = 0;
    KvType type = KvType::F32;
};

// Where a decode step's attention went (Session::collect_attention_mass): every key j's softmax
// probability, summed over the heads and the query rows, times `weight`, is added to sum[j]
// (first + n values). The probabilities are those of the very scores the step attends with
// (grouped positions under Self-Extend). Only decode steps (attention_parts::kDecodeMaxQueries
// queries or fewer) collect; a prefill ignores it.
struct AttentionMass {
    float* sum = nullptr;
    float weight = 1.0f;
};

// Queries for tokens at positions [first, first + n): q rotated at their own positions, q_grouped
// at the grouped query positions (null for vanilla). Keys 0 .. first + n - 1 must be in the cache.
// out: [n][heads * head_dim]. mass: null, or where a decode step adds its attention.
void attention(const AttentionShape& shape, const AttentionMode& mode, const float* q,
               const float* q_grouped, const KvLayerView& cache, int64_t first, int64_t n,
               float* out, ThreadPool& pool, const AttentionMass* mass = nullptr);

}  // namespace selfextend::cpu
