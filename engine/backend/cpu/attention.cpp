#include "backend/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "attention/position_rule.h"
#include "backend/cpu/simd.h"
#include "backend/cpu/thread_pool.h"
#include "backend/cpu/vector_math.h"

namespace selfextend::cpu {

namespace {

constexpr int64_t kQueryBlock = 16;  // query rows sharing one pass over the keys
constexpr int64_t kKeyBlock = 64;    // keys per tile: four vectors of scores
constexpr int kKeyVectors = int(kKeyBlock / kLanes);

// Which positions a (query block, key block) tile needs; only tiles on the band edge need both.
enum class TileKind { Neighbour, Grouped, Mixed };

TileKind classify(const AttentionMode& mode, int64_t first_query, int64_t last_query,
                  int64_t first_key, int64_t last_key) {
    if (mode.is_vanilla()) return TileKind::Neighbour;
    if (position_rule::is_neighbour(last_query, first_key, mode.window)) return TileKind::Neighbour;
    if (!position_rule::is_neighbour(first_query, last_key, mode.window)) return TileKind::Grouped;
    return TileKind::Mixed;
}

// Copies keys [j0, j0 + count) of one head into transposed[d][kKeyBlock], zero past count.
void transpose_keys(const float* keys, int64_t j0, int64_t count, int head_dim, float* transposed) {
    for (int d = 0; d < head_dim; ++d) {
        float* row = transposed + d * kKeyBlock;
        for (int64_t j = 0; j < count; ++j) row[j] = keys[(j0 + j) * head_dim + d];
        for (int64_t j = count; j < kKeyBlock; ++j) row[j] = 0.0f;
    }
}

// Like transpose_keys, with each key re-rotated from its cached position j to the grouped
// position j / G: a rotation of each RoPE pair by -(j - j / G).
void transpose_grouped_keys(const float* keys, int64_t j0, int64_t count, int head_dim, int group,
                            const RopeTable& rope, float* transposed) {
    const int pairs = rope.pairs();
    for (int64_t j = 0; j < count; ++j) {
        const float* key = keys + (j0 + j) * head_dim;
        const int64_t delta = (j0 + j) - position_rule::grouped_key_position(j0 + j, group);
        const float* c = rope.cos_table().data() + delta * pairs;
        const float* s = rope.sin_table().data() + delta * pairs;
        for (int p = 0; p < head_dim / 2; ++p) {
            const float k0 = key[2 * p], k1 = key[2 * p + 1];
            const bool rotates = p < pairs;
            transposed[(2 * p) * kKeyBlock + j] = rotates ? k0 * c[p] + k1 * s[p] : k0;
            transposed[(2 * p + 1) * kKeyBlock + j] = rotates ? k1 * c[p] - k0 * s[p] : k1;
        }
    }
    for (int d = 0; d < head_dim; ++d)
        for (int64_t j = count; j < kKeyBlock; ++j) transposed[d * kKeyBlock + j] = 0.0f;
}

// scores[0..64) = q . key_j for the transposed tile.
inline void tile_scores(const float* q, const float* transposed, int head_dim,
                        f32x16 scores[kKeyVectors]) {
    for (int v = 0; v < kKeyVectors; ++v) scores[v] = f32x16{};
    for (int d = 0; d < head_dim; ++d) {
        const float qd = q[d];
        const float* row = transposed + d * kKeyBlock;
        for (int v = 0; v < kKeyVectors; ++v) scores[v] += qd * load16(row + v * kLanes);
    }
}

// Running softmax state of one query row: max, normaliser and the weighted sum of values.
struct RowState {
    float max = -std::numeric_limits<float>::infinity();
    float sum = 0.0f;
    float* acc = nullptr;  // head_dim values
};

// acc = acc * correction + sum_j p_j v_j over the tile's visible keys, with the row of
// accumulators held in registers (VECS vectors of 16) while the value rows stream past.
template <int VECS>
void accumulate_values_fixed(float* acc, float correction, const f32x16 p[kKeyVectors],
                             const float* values, int64_t visible) {
    f32x16 a[VECS];
    for (int v = 0; v < VECS; ++v) a[v] = load16(acc + v * kLanes) * correction;
    for (int64_t j = 0; j < visible; ++j) {
        const float weight = p[j / kLanes][j % kLanes];
        const float* row = values + j * VECS * kLanes;
        for (int v = 0; v < VECS; ++v) a[v] += weight * load16(row + v * kLanes);
    }
    for (int v = 0; v < VECS; ++v) store16(acc + v * kLanes, a[v]);
}

void accumulate_values(float* acc, float correction, const f32x16 p[kKeyVectors],
                       const float* values, int64_t visible, int head_dim) {
    switch (head_dim) {
        case 64:
            return accumulate_values_fixed<4>(acc, correction, p, values, visible);
        case 128:
            return accumulate_values_fixed<8>(acc, correction, p, values, visible);
        case 256:
            return accumulate_values_fixed<16>(acc, correction, p, values, visible);
        default:
            break;
    }
    for (int d = 0; d < head_dim; d += kLanes) {
        f32x16 a = load16(acc + d) * correction;
        for (int64_t j = 0; j < visible; ++j)
            a += p[j / kLanes][j % kLanes] * load16(values + j * head_dim + d);
        store16(acc + d, a);
    }
}

}  // namespace

void attention(const AttentionShape& shape, const AttentionMode& mode, const float* q,
               const float* q_grouped, const KvLayerView& cache, const RopeTable& rope,
               int64_t first, int64_t n, float* out, ThreadPool& pool) {
    const int hd = shape.head_dim;
    const int group_heads = shape.heads / shape.kv_heads;
    const int64_t q_stride = int64_t(shape.heads) * hd;
    const float scale = 1.0f / std::sqrt(float(hd));
    const int64_t row_blocks = (n + kQueryBlock - 1) / kQueryBlock;
    const bool self_extend = !mode.is_vanilla();

    pool.parallel_for(int64_t(shape.kv_heads) * row_blocks, 1, [&](int64_t begin, int64_t end) {
        std::vector<float> keys_t(size_t(hd * kKeyBlock));
        std::vector<float> grouped_t(self_extend ? size_t(hd * kKeyBlock) : 0);
        std::vector<float> acc(size_t(kQueryBlock * group_heads * hd));
        std::vector<RowState> rows(size_t(kQueryBlock * group_heads));

        for (int64_t item = begin; item < end; ++item) {
            const int kv = int(item / row_blocks);
            const int64_t t0 = (item % row_blocks) * kQueryBlock;
            const int64_t t1 = std::min(n, t0 + kQueryBlock);
            const float* keys = cache.keys + kv * cache.capacity * hd;
            const float* values = cache.values + kv * cache.capacity * hd;

            std::fill(acc.begin(), acc.end(), 0.0f);
            for (size_t r = 0; r < rows.size(); ++r) rows[r] = RowState{.acc = acc.data() + r * hd};

            const int64_t last_query = first + t1 - 1;
            for (int64_t j0 = 0; j0 <= last_query; j0 += kKeyBlock) {
                const int64_t count = std::min(kKeyBlock, last_query + 1 - j0);
                const TileKind kind = classify(mode, first + t0, last_query, j0, j0 + count - 1);
                if (kind != TileKind::Grouped) transpose_keys(keys, j0, count, hd, keys_t.data());
                if (kind != TileKind::Neighbour)
                    transpose_grouped_keys(keys, j0, count, hd, mode.group, rope, grouped_t.data());

                for (int gh = 0; gh < group_heads; ++gh) {
                    const int head = kv * group_heads + gh;
                    for (int64_t t = t0; t < t1; ++t) {
                        const int64_t i = first + t;
                        if (j0 > i) continue;  // the whole tile lies in this row's future
                        const float* q_row = q + t * q_stride + int64_t(head) * hd;
                        f32x16 s[kKeyVectors];
                        if (kind == TileKind::Neighbour) {
                            tile_scores(q_row, keys_t.data(), hd, s);
                        } else {
                            const float* qg_row = q_grouped + t * q_stride + int64_t(head) * hd;
                            tile_scores(qg_row, grouped_t.data(), hd, s);
                            if (kind == TileKind::Mixed) {
                                f32x16 near[kKeyVectors];
                                tile_scores(q_row, keys_t.data(), hd, near);
                                for (int v = 0; v < kKeyVectors; ++v)
                                    for (int l = 0; l < kLanes; ++l) {
                                        const int64_t j = j0 + v * kLanes + l;
                                        if (position_rule::is_neighbour(i, j, mode.window))
                                            s[v][l] = near[v][l];
                                    }
                            }
                        }
                        // Scale, mask the future (and the tile's padding), take the block max.
                        const int64_t visible = std::min(count, i - j0 + 1);
                        float block_max = -std::numeric_limits<float>::infinity();
                        for (int v = 0; v < kKeyVectors; ++v) {
                            s[v] *= scale;
                            for (int l = 0; l < kLanes; ++l)
                                if (v * kLanes + l >= visible)
                                    s[v][l] = -std::numeric_limits<float>::infinity();
                            block_max = std::max(block_max, reduce_max(s[v]));
                        }
                        RowState& state = rows[size_t((t - t0) * group_heads + gh)];
                        const float new_max = std::max(state.max, block_max);
                        const float correction = std::exp(state.max - new_max);
                        float block_sum = 0.0f;
                        for (int v = 0; v < kKeyVectors; ++v) {
                            s[v] = exp16(s[v] - new_max);
                            block_sum += reduce_add(s[v]);
                        }
                        state.sum = state.sum * correction + block_sum;
                        state.max = new_max;
                        accumulate_values(state.acc, correction, s, values + j0 * hd, visible, hd);
                    }
                }
            }
            for (int64_t t = t0; t < t1; ++t)
                for (int gh = 0; gh < group_heads; ++gh) {
                    const RowState& state = rows[size_t((t - t0) * group_heads + gh)];
                    float* o = out + t * q_stride + int64_t(kv * group_heads + gh) * hd;
                    const float inverse = 1.0f / state.sum;
                    for (int d = 0; d < hd; ++d) o[d] = state.acc[d] * inverse;
                }
        }
    });
}

}  // namespace selfextend::cpu
