// What the CPU attention kernels (attention.cpp: prefill tiles, attention_decode.cpp: split-K
// decode) share: one call's arguments, which positions a block of (queries, keys) needs, the
// re-rotation of cached keys to their grouped positions, and a few lane operations.
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

// Re-rotating cached keys to their grouped positions.

// A key cached at position j is turned back by delta = j - j/G to sit at j/G. The angles of one
// key spread over its sixteen-value vectors: lane 2p and 2p + 1 hold cos and (+sin, -sin) of
// pair p, so that key * cos + swap_pairs(key) * sin is the rotation.
struct TurnBack {
    f32x16 cos, sin;
};

// The factors for values [d, d + 16) from the table row of delta (pairs entries each);
// pairs past the rotary dimensions do not turn.
inline TurnBack turn_back_factors(const float* c, const float* s, int d, int pairs) {
    const int p0 = d / 2;
    if (p0 + 8 <= pairs) {
        f32x8 c8, s8;
        std::memcpy(&c8, c + p0, sizeof c8);
        std::memcpy(&s8, s + p0, sizeof s8);
        const f32x16 signs{1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1};
        return {__builtin_shufflevector(c8, c8, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7),
                __builtin_shufflevector(s8, s8, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7) *
                    signs};
    }
    TurnBack f{splat16(1.0f), f32x16{}};
    for (int l = 0; l < kLanes; l += 2) {
        const int p = p0 + l / 2;
        if (p >= pairs) break;
        f.cos[l] = f.cos[l + 1] = c[p];
        f.sin[l] = s[p];
        f.sin[l + 1] = -s[p];
    }
    return f;
}

inline f32x16 turn_back(f32x16 key, const TurnBack& f) {
    const f32x16 swapped =
        __builtin_shufflevector(key, key, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
    return key * f.cos + swapped * f.sin;
}

// The table rows (cos, sin) that turn key j back to its grouped position.
inline const float* turn_back_cos(const RopeTable& rope, int64_t j, int group) {
    const int64_t delta = position_rule::grouped_key_shift(j, group);
    return rope.cos_table().data() + delta * rope.pairs();
}
inline const float* turn_back_sin(const RopeTable& rope, int64_t j, int group) {
    const int64_t delta = position_rule::grouped_key_shift(j, group);
    return rope.sin_table().data() + delta * rope.pairs();
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
    const RopeTable& rope;
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
};

// The decode path: queries [first, first + n), n <= kDecodeMaxQueries.
void decode_attention(const AttentionCall& call, ThreadPool& pool);

}  // namespace selfextend::cpu::attention_parts
