// What the CPU attention kernels (attention.cpp: prefill tiles, attention_decode.cpp: split-K
// decode) share: one call's arguments, which positions a block of (queries, keys) needs, and a
// few lane operations.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

#include "attention/position_rule.h"
#include "backend/cpu/attention.h"
#include "backend/cpu/kv_row.h"
#include "backend/cpu/simd.h"

namespace selfextend::cpu::attention_parts {

// Up to this many queries a call is a decode step, split over the keys (attention_decode.cpp):
// a prefill split by query blocks would leave one work item per KV head.
constexpr int64_t kDecodeMaxQueries = 8;

constexpr float kMinusInfinity = -std::numeric_limits<float>::infinity();

typedef float f32x8 __attribute__((vector_size(8 * sizeof(float))));

// Which positions a (queries, keys) tile needs; only tiles on the band edge need both.
enum class TileKind { Neighbour, Grouped, Mixed };

inline TileKind classify(const AttentionMode& mode, int64_t first_query, int64_t last_query,
                         int64_t first_key, int64_t last_key) {
    if (mode.is_vanilla()) return TileKind::Neighbour;
    if (position_rule::is_neighbour(last_query, first_key, mode.window)) return TileKind::Neighbour;
    if (!position_rule::is_neighbour(first_query, last_key, mode.window)) return TileKind::Grouped;
    return TileKind::Mixed;
}

inline f32x16 lane_indices() {
    return f32x16{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
}

inline float horizontal_max(f32x16 v) {
    const f32x8 a = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7);
    const f32x8 b = __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
    const f32x8 m = a > b ? a : b;
    float result = m[0];
    for (int k = 1; k < 8; ++k) result = std::max(result, m[k]);
    return result;
}

inline float horizontal_sum(f32x16 v) {
    const f32x8 s = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
                    __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
    return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

inline const std::byte* row_at(const std::byte* block, int64_t j, size_t row_bytes) {
    return block + size_t(j) * row_bytes;
}

// One attention() call: the queries, the layer's cache, where the rows go.
struct AttentionCall {
    const AttentionShape& shape;
    const AttentionMode& mode;
    const float* q;
    const float* q_grouped;
    const KvLayerView& cache;
    int64_t first;
    int64_t n;
    float* out;
    const AttentionMass* mass = nullptr;  // decode steps only

    int group_heads() const { return shape.heads / shape.kv_heads; }
    // The first key query i sees: 0, or past the sliding window.
    int64_t first_key(int64_t i) const {
        return shape.key_window > 0 ? std::max<int64_t>(0, i - shape.key_window + 1) : 0;
    }
    int64_t q_stride() const { return int64_t(shape.heads) * shape.head_dim; }
    float scale() const { return 1.0f / std::sqrt(float(shape.head_dim)); }
    size_t row_bytes() const { return kv_row_bytes(cache.type, shape.head_dim); }
    const std::byte* keys(int kv) const {
        return cache.keys + size_t(kv) * size_t(cache.capacity) * row_bytes();
    }
    const std::byte* values(int kv) const {
        return cache.values + size_t(kv) * size_t(cache.capacity) * row_bytes();
    }
    // Null when the layer does not group.
    const std::byte* grouped_keys(int kv) const {
        return cache.grouped_keys
                   ? cache.grouped_keys + size_t(kv) * size_t(cache.capacity) * row_bytes()
                   : nullptr;
    }
};

// The decode path: queries [first, first + n), n <= kDecodeMaxQueries.
void decode_attention(const AttentionCall& call, ThreadPool& pool);

}  // namespace selfextend::cpu::attention_parts
