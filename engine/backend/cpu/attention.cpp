// Prefill: blocks of 16 queries against tiles of 64 keys. Each tile's keys (at their own
// positions, at their grouped ones, or both, as the tile needs) are converted to float32 and
// transposed once, its values converted once, then shared by every query row of the KV head.
// Decode steps (a few queries) go to attention_decode.cpp.
#include "backend/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cpu/attention_parts.h"
#include "backend/cpu/kv_row.h"
#include "backend/cpu/simd.h"
#include "backend/cpu/thread_pool.h"
#include "backend/cpu/vector_math.h"
#include "selfextend/error.h"

namespace selfextend::cpu {

using namespace attention_parts;

namespace {

constexpr int64_t kQueryBlock = 16;  // query rows sharing one pass over the keys
constexpr int64_t kKeyBlock = 64;    // keys per tile: four vectors of scores
constexpr int kKeyVectors = int(kKeyBlock / kLanes);

// Keys [j0, j0 + count) of one head as floats, transposed to [d][kKeyBlock], zero past count.
template <KvType T>
void transpose_keys(const std::byte* keys, size_t row_bytes, int64_t j0, int64_t count,
                    int head_dim, float* transposed) {
    for (int64_t j = 0; j < count; ++j) {
        const std::byte* row = row_at(keys, j0 + j, row_bytes);
        for (int d = 0; d < head_dim; d += kLanes) {
            const f32x16 v = KvRowReader<T>::load(row, d);
            for (int l = 0; l < kLanes; ++l) transposed[(d + l) * kKeyBlock + j] = v[l];
        }
    }
    for (int d = 0; d < head_dim; ++d)
        for (int64_t j = count; j < kKeyBlock; ++j) transposed[d * kKeyBlock + j] = 0.0f;
}

// Rows [j0, j0 + count) of a value (or key) block as floats, [count][head_dim]: the cache itself
// for F32, else converted into `buffer`.
template <KvType T>
const float* float_rows(const std::byte* block, size_t row_bytes, int64_t j0, int64_t count,
                        int head_dim, float* buffer) {
    if constexpr (T == KvType::F32) {
        return reinterpret_cast<const float*>(row_at(block, j0, row_bytes));
    } else {
        for (int64_t j = 0; j < count; ++j) {
            const std::byte* row = row_at(block, j0 + j, row_bytes);
            for (int d = 0; d < head_dim; d += kLanes)
                store16(buffer + j * head_dim + d, KvRowReader<T>::load(row, d));
        }
        return buffer;
    }
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
    float max = kMinusInfinity;
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

void accumulate_values(float* acc, float correction, const f32x16 p[], const float* values,
                       int64_t visible, int head_dim) {
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

template <KvType T>
void prefill_attention(const AttentionCall& call, ThreadPool& pool) {
    const AttentionMode& mode = call.mode;
    const int hd = call.shape.head_dim;
    const int group_heads = call.group_heads();
    const int64_t q_stride = call.q_stride();
    const float scale = call.scale();
    const size_t row_bytes = call.row_bytes();
    const int64_t first = call.first, n = call.n;
    const int64_t row_blocks = (n + kQueryBlock - 1) / kQueryBlock;
    const bool self_extend = !mode.is_vanilla();

    pool.parallel_for(
        int64_t(call.shape.kv_heads) * row_blocks, 1, [&](int64_t begin, int64_t end) {
            std::vector<float> keys_t(size_t(hd * kKeyBlock));
            std::vector<float> grouped_t(self_extend ? size_t(hd * kKeyBlock) : 0);
            std::vector<float> value_buffer(size_t(hd * kKeyBlock));
            std::vector<float> acc(size_t(kQueryBlock * group_heads * hd));
            std::vector<RowState> rows(size_t(kQueryBlock * group_heads));

            for (int64_t item = begin; item < end; ++item) {
                const int kv = int(item / row_blocks);
                const int64_t t0 = (item % row_blocks) * kQueryBlock;
                const int64_t t1 = std::min(n, t0 + kQueryBlock);
                const std::byte* keys = call.keys(kv);
                const std::byte* grouped_keys = call.grouped_keys(kv);
                const std::byte* values = call.values(kv);

                std::fill(acc.begin(), acc.end(), 0.0f);
                for (size_t r = 0; r < rows.size(); ++r)
                    rows[r] = RowState{.acc = acc.data() + r * hd};

                const int64_t last_query = first + t1 - 1;
                // Tiles before the block's first query's sliding window are seen by no row.
                const int64_t first_tile = call.first_key(first + t0) / kKeyBlock * kKeyBlock;
                for (int64_t j0 = first_tile; j0 <= last_query; j0 += kKeyBlock) {
                    const int64_t count = std::min(kKeyBlock, last_query + 1 - j0);
                    const TileKind kind =
                        classify(mode, first + t0, last_query, j0, j0 + count - 1);
                    if (kind != TileKind::Grouped)
                        transpose_keys<T>(keys, row_bytes, j0, count, hd, keys_t.data());
                    if (kind != TileKind::Neighbour)
                        transpose_keys<T>(grouped_keys, row_bytes, j0, count, hd, grouped_t.data());
                    const float* value_rows =
                        float_rows<T>(values, row_bytes, j0, count, hd, value_buffer.data());

                    for (int gh = 0; gh < group_heads; ++gh) {
                        const int head = kv * group_heads + gh;
                        for (int64_t t = t0; t < t1; ++t) {
                            const int64_t i = first + t;
                            if (j0 > i) continue;  // the whole tile lies in this row's future
                            // Keys j0 .. j0 + hidden - 1 lie before this row's sliding window.
                            const int64_t hidden = std::max<int64_t>(0, call.first_key(i) - j0);
                            if (hidden >= count) continue;
                            const float* q_row = call.q + t * q_stride + int64_t(head) * hd;
                            f32x16 s[kKeyVectors];
                            if (kind == TileKind::Neighbour) {
                                tile_scores(q_row, keys_t.data(), hd, s);
                            } else {
                                const float* qg_row =
                                    call.q_grouped + t * q_stride + int64_t(head) * hd;
                                tile_scores(qg_row, grouped_t.data(), hd, s);
                                if (kind == TileKind::Mixed) {
                                    f32x16 near[kKeyVectors];
                                    tile_scores(q_row, keys_t.data(), hd, near);
                                    // Key j is a neighbour of i when j > i - W.
                                    const float last_grouped = float(i - mode.window - j0);
                                    for (int v = 0; v < kKeyVectors; ++v)
                                        s[v] = lane_indices() + float(v * kLanes) > last_grouped
                                                   ? near[v]
                                                   : s[v];
                                }
                            }
                            // Scale, mask the future (and the tile's padding) and the keys
                            // before the window, take the block max.
                            const int64_t visible = std::min(count, i - j0 + 1);
                            float block_max = kMinusInfinity;
                            for (int v = 0; v < kKeyVectors; ++v) {
                                s[v] *= scale;
                                const f32x16 lane = lane_indices() + float(v * kLanes);
                                s[v] = ((lane < float(visible)) & (lane >= float(hidden)))
                                           ? s[v]
                                           : splat16(kMinusInfinity);
                                block_max = std::max(block_max, horizontal_max(s[v]));
                            }
                            RowState& state = rows[size_t((t - t0) * group_heads + gh)];
                            const float new_max = std::max(state.max, block_max);
                            const float correction = std::exp(state.max - new_max);
                            float block_sum = 0.0f;
                            for (int v = 0; v < kKeyVectors; ++v) {
                                s[v] = exp16(s[v] - new_max);
                                block_sum += horizontal_sum(s[v]);
                            }
                            state.sum = state.sum * correction + block_sum;
                            state.max = new_max;
                            accumulate_values(state.acc, correction, s, value_rows, visible, hd);
                        }
                    }
                }
                for (int64_t t = t0; t < t1; ++t)
                    for (int gh = 0; gh < group_heads; ++gh) {
                        const RowState& state = rows[size_t((t - t0) * group_heads + gh)];
                        float* o = call.out + t * q_stride + int64_t(kv * group_heads + gh) * hd;
                        const float inverse = 1.0f / state.sum;
                        for (int d = 0; d < hd; ++d) o[d] = state.acc[d] * inverse;
                    }
            }
        });
}

template <KvType T>
void dispatch(const AttentionCall& call, ThreadPool& pool) {
    if (call.n > kDecodeMaxQueries) return prefill_attention<T>(call, pool);
    decode_attention(call, pool);
}

}  // namespace

void attention(const AttentionShape& shape, const AttentionMode& mode, const float* q,
               const float* q_grouped, const KvLayerView& cache, int64_t first, int64_t n,
               float* out, ThreadPool& pool, const AttentionMass* mass) {
    if (!mode.is_vanilla() && (!q_grouped || !cache.grouped_keys))
        throw Error("attention: Self-Extend needs grouped queries and the cache's grouped keys");
    const AttentionCall call{shape, mode, q, q_grouped, cache, first, n, out, mass};
    switch (cache.type) {
        case KvType::F32:
            return dispatch<KvType::F32>(call, pool);
        case KvType::F16:
            return dispatch<KvType::F16>(call, pool);
        case KvType::Q8_0:
            return dispatch<KvType::Q8_0>(call, pool);
    }
}

}  // namespace selfextend::cpu
