#include "backend/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "attention/position_rule.h"
#include "backend/cpu/kv_row.h"
#include "backend/cpu/simd.h"
#include "backend/cpu/thread_pool.h"
#include "backend/cpu/vector_math.h"

namespace selfextend::cpu {

namespace {

constexpr int64_t kQueryBlock = 16;  // query rows sharing one pass over the keys (prefill)
constexpr int64_t kKeyBlock = 64;    // keys per prefill tile: four vectors of scores
constexpr int kKeyVectors = int(kKeyBlock / kLanes);
constexpr int64_t kChunk = kLanes;  // keys per decode step: one vector of scores
// Up to this many queries a call is a decode step, split over the keys: a prefill split by
// query blocks would leave one work item per KV head.
constexpr int64_t kDecodeMaxQueries = 8;
// Keys per split-K range. Fixed (not derived from the thread count) so that the result does not
// depend on how many threads run it; small enough that two threads share 512 keys evenly.
constexpr int64_t kSplitKeys = 128;
static_assert(kSplitKeys % kChunk == 0);
constexpr int64_t kPrefetchAhead = 4 * kChunk;  // keys ahead of the chunk being read

constexpr float kMinusInfinity = -std::numeric_limits<float>::infinity();

typedef float f32x8 __attribute__((vector_size(8 * sizeof(float))));

// Which positions a (queries, keys) tile needs; only tiles on the band edge need both.
enum class TileKind { Neighbour, Grouped, Mixed };

TileKind classify(const AttentionMode& mode, int64_t first_query, int64_t last_query,
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

// Lane k of the result is the sum of the lanes of v[k]: sixteen dot products finished at once
// by halving and interleaving (15 additions instead of 16 separate reductions).
inline f32x16 transpose_sum(const f32x16 v[kLanes]) {
    f32x16 b[8], c[4], d[2];
    for (int k = 0; k < 8; ++k)  // lanes 0-7: key k, 8-15: key k + 8
        b[k] = __builtin_shufflevector(v[k], v[k + 8], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20,
                                       21, 22, 23) +
               __builtin_shufflevector(v[k], v[k + 8], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27,
                                       28, 29, 30, 31);
    for (int k = 0; k < 4; ++k)  // four lanes each of keys k, k + 4, k + 8, k + 12
        c[k] = __builtin_shufflevector(b[k], b[k + 4], 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24,
                                       25, 26, 27) +
               __builtin_shufflevector(b[k], b[k + 4], 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15,
                                       28, 29, 30, 31);
    for (int k = 0; k < 2; ++k)  // two lanes each of keys k, k + 2, ..., k + 14
        d[k] = __builtin_shufflevector(c[k], c[k + 2], 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12,
                                       13, 28, 29) +
               __builtin_shufflevector(c[k], c[k + 2], 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27,
                                       14, 15, 30, 31);
    return __builtin_shufflevector(d[0], d[1], 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28,
                                   14, 30) +
           __builtin_shufflevector(d[0], d[1], 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29,
                                   15, 31);
}

// ---- Re-rotating cached keys to their grouped positions ------------------------------------

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
    const int64_t delta = j - position_rule::grouped_key_position(j, group);
    return rope.cos_table().data() + delta * rope.pairs();
}
inline const float* turn_back_sin(const RopeTable& rope, int64_t j, int group) {
    const int64_t delta = j - position_rule::grouped_key_position(j, group);
    return rope.sin_table().data() + delta * rope.pairs();
}

inline const std::byte* row_at(const std::byte* block, int64_t j, size_t row_bytes) {
    return block + size_t(j) * row_bytes;
}

// Asks for rows [j0, j1) of a block ahead of their use, one cache line at a time.
inline void prefetch_rows(const std::byte* block, int64_t j0, int64_t j1, size_t row_bytes) {
    constexpr size_t kLine = 64;
    for (size_t at = size_t(j0) * row_bytes; at < size_t(j1) * row_bytes; at += kLine)
        __builtin_prefetch(block + at);
}

// ---- Prefill: tiles of 64 keys against blocks of 16 queries --------------------------------

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

// Like transpose_keys, with each key turned back to its grouped position.
template <KvType T>
void transpose_grouped_keys(const std::byte* keys, size_t row_bytes, int64_t j0, int64_t count,
                            int head_dim, int group, const RopeTable& rope, float* transposed) {
    for (int64_t j = 0; j < count; ++j) {
        const std::byte* row = row_at(keys, j0 + j, row_bytes);
        const float* c = turn_back_cos(rope, j0 + j, group);
        const float* s = turn_back_sin(rope, j0 + j, group);
        for (int d = 0; d < head_dim; d += kLanes) {
            const f32x16 v =
                turn_back(KvRowReader<T>::load(row, d), turn_back_factors(c, s, d, rope.pairs()));
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

    int group_heads() const { return shape.heads / shape.kv_heads; }
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
                const std::byte* values = call.values(kv);

                std::fill(acc.begin(), acc.end(), 0.0f);
                for (size_t r = 0; r < rows.size(); ++r)
                    rows[r] = RowState{.acc = acc.data() + r * hd};

                const int64_t last_query = first + t1 - 1;
                for (int64_t j0 = 0; j0 <= last_query; j0 += kKeyBlock) {
                    const int64_t count = std::min(kKeyBlock, last_query + 1 - j0);
                    const TileKind kind =
                        classify(mode, first + t0, last_query, j0, j0 + count - 1);
                    if (kind != TileKind::Grouped)
                        transpose_keys<T>(keys, row_bytes, j0, count, hd, keys_t.data());
                    if (kind != TileKind::Neighbour)
                        transpose_grouped_keys<T>(keys, row_bytes, j0, count, hd, mode.group,
                                                  call.rope, grouped_t.data());
                    const float* value_rows =
                        float_rows<T>(values, row_bytes, j0, count, hd, value_buffer.data());

                    for (int gh = 0; gh < group_heads; ++gh) {
                        const int head = kv * group_heads + gh;
                        for (int64_t t = t0; t < t1; ++t) {
                            const int64_t i = first + t;
                            if (j0 > i) continue;  // the whole tile lies in this row's future
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
                            // Scale, mask the future (and the tile's padding), take the block max.
                            const int64_t visible = std::min(count, i - j0 + 1);
                            float block_max = kMinusInfinity;
                            for (int v = 0; v < kKeyVectors; ++v) {
                                s[v] *= scale;
                                s[v] = lane_indices() + float(v * kLanes) < float(visible)
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

// ---- Decode: a few queries, the keys split into ranges across threads ----------------------
//
// Each range [k0, k1) runs the online softmax over its keys, sixteen at a time, for every KV
// head and every query row of that head (row r = t * group_heads + gh), and leaves a partial
// state: its max m_s, normaliser l_s and unnormalised sum of values a_s. The ranges are merged
// by their log-sum-exp: out = sum_s e^(m_s - M) a_s / sum_s e^(m_s - M) l_s, M = max_s m_s.
// Each stored key and value row is read and converted once per pass of up to four query rows,
// straight into registers.

constexpr int kMaxVecs = 16;  // head_dim <= 256

struct Partials {
    int64_t rows_per_split = 0;  // kv_heads * rows per KV head
    int head_dim = 0;
    std::vector<float> max, sum, acc;  // [split][row], [split][row], [split][row][head_dim]

    Partials(int64_t splits, int64_t rows, int hd)
        : rows_per_split(rows),
          head_dim(hd),
          max(size_t(splits * rows)),
          sum(size_t(splits * rows)),
          acc(size_t(splits * rows * hd)) {}
    size_t index(int64_t split, int64_t row) const { return size_t(split * rows_per_split + row); }
};

// One query row within a range: its query vectors and its running softmax state.
struct DecodeRow {
    const float* q = nullptr;          // rotated at i
    const float* q_grouped = nullptr;  // rotated at the grouped query position (Self-Extend)
    int64_t i = 0;                     // the query's position
    float* max = nullptr;
    float* sum = nullptr;
    float* acc = nullptr;  // head_dim values
};

// One chunk of one KV head's keys and values, as a pass over rows needs it.
struct DecodeChunk {
    const std::byte* keys;    // the head's blocks
    const std::byte* values;  //
    size_t row_bytes;
    int64_t c0, count;
    int vecs;  // head_dim / 16
    TileKind kind;
    const RopeTable* rope;  // turns keys back to grouped positions (not Neighbour)
    int group;
    // [count][vecs] factors to grouped positions, for head dimensions that chunk_scores_split
    // cannot take (null otherwise).
    const TurnBack* turn;
};

// Scores q . key_j for the chunk's keys (zero past count), ROWS query rows at once: each key
// row is read and converted once, its vectors multiplied with every row's query in registers,
// and each row's sixteen products finished by transpose_sum. TURN: keys turned back to their
// grouped positions first. VECS = head_dim / 16 when fixed at compile time, 0 otherwise.
template <KvType T, int VECS, int ROWS, bool TURN>
void chunk_scores(const DecodeChunk& c, const float* const q[ROWS], f32x16 scores[ROWS]) {
    constexpr int kVecs = VECS ? VECS : kMaxVecs;
    const int vecs = VECS ? VECS : c.vecs;
    f32x16 qv[ROWS][kVecs];
    for (int r = 0; r < ROWS; ++r)
        for (int v = 0; v < vecs; ++v) qv[r][v] = load16(q[r] + v * kLanes);
    f32x16 products[ROWS][kLanes];
    for (int64_t j = 0; j < kLanes; ++j) {
        f32x16 a[ROWS] = {};
        if (j < c.count) {
            const std::byte* row = row_at(c.keys, c.c0 + j, c.row_bytes);
            for (int v = 0; v < vecs; ++v) {
                f32x16 key = KvRowReader<T>::load(row, v * kLanes);
                if constexpr (TURN) key = turn_back(key, c.turn[j * vecs + v]);
                for (int r = 0; r < ROWS; ++r) a[r] += qv[r][v] * key;
            }
        }
        for (int r = 0; r < ROWS; ++r) products[r][j] = a[r];
    }
    for (int r = 0; r < ROWS; ++r) scores[r] = transpose_sum(products[r]);
}

// Grouped scores with the RoPE pairs split: each two key vectors (32 values, 16 pairs) are
// separated into even and odd dimensions, so that the 16 pairs turn back by delta = j - j/G with
// one vector of cosines and one of sines read straight from the table row of delta, no
// per-key factors to build. The queries are split the same way once per pass. Needs VECS even
// and RoPE on the whole head.
template <KvType T, int VECS, int ROWS>
void chunk_scores_split(const DecodeChunk& c, const float* const q[ROWS], f32x16 scores[ROWS]) {
    static_assert(VECS > 0 && VECS % 2 == 0);
    constexpr int kHalves = VECS / 2;
    const auto even = [](f32x16 a, f32x16 b) {
        return __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28,
                                       30);
    };
    const auto odd = [](f32x16 a, f32x16 b) {
        return __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29,
                                       31);
    };
    f32x16 q_even[ROWS][kHalves], q_odd[ROWS][kHalves];
    for (int r = 0; r < ROWS; ++r)
        for (int h = 0; h < kHalves; ++h) {
            const f32x16 a = load16(q[r] + 2 * h * kLanes), b = load16(q[r] + (2 * h + 1) * kLanes);
            q_even[r][h] = even(a, b);
            q_odd[r][h] = odd(a, b);
        }
    const int pairs = c.rope->pairs();
    f32x16 products[ROWS][kLanes];
    for (int64_t j = 0; j < kLanes; ++j) {
        f32x16 acc[ROWS] = {};
        if (j < c.count) {
            const int64_t key = c.c0 + j;
            const int64_t delta = key - position_rule::grouped_key_position(key, c.group);
            const float* cos = c.rope->cos_table().data() + delta * pairs;
            const float* sin = c.rope->sin_table().data() + delta * pairs;
            const std::byte* row = row_at(c.keys, key, c.row_bytes);
            for (int h = 0; h < kHalves; ++h) {
                const f32x16 a = KvRowReader<T>::load(row, 2 * h * kLanes);
                const f32x16 b = KvRowReader<T>::load(row, (2 * h + 1) * kLanes);
                const f32x16 k_even = even(a, b), k_odd = odd(a, b);
                const f32x16 c16 = load16(cos + h * kLanes), s16 = load16(sin + h * kLanes);
                const f32x16 turned_even = k_even * c16 + k_odd * s16;
                const f32x16 turned_odd = k_odd * c16 - k_even * s16;
                for (int r = 0; r < ROWS; ++r)
                    acc[r] += q_even[r][h] * turned_even + q_odd[r][h] * turned_odd;
            }
        }
        for (int r = 0; r < ROWS; ++r) products[r][j] = acc[r];
    }
    for (int r = 0; r < ROWS; ++r) scores[r] = transpose_sum(products[r]);
}

// acc_r = acc_r * correction_r + sum_j p_r[j] * value_j for ROWS rows, each value row read and
// converted once.
template <KvType T, int VECS, int ROWS>
void chunk_accumulate(const DecodeChunk& c, DecodeRow* const rows[ROWS],
                      const float correction[ROWS], const f32x16 p[ROWS]) {
    if constexpr (VECS > 0) {
        f32x16 a[ROWS][VECS];
        for (int r = 0; r < ROWS; ++r)
            for (int v = 0; v < VECS; ++v)
                a[r][v] = load16(rows[r]->acc + v * kLanes) * correction[r];
        for (int64_t j = 0; j < c.count; ++j) {
            const std::byte* row = row_at(c.values, c.c0 + j, c.row_bytes);
            for (int v = 0; v < VECS; ++v) {
                const f32x16 value = KvRowReader<T>::load(row, v * kLanes);
                for (int r = 0; r < ROWS; ++r) a[r][v] += p[r][j] * value;
            }
        }
        for (int r = 0; r < ROWS; ++r)
            for (int v = 0; v < VECS; ++v) store16(rows[r]->acc + v * kLanes, a[r][v]);
    } else {
        for (int v = 0; v < c.vecs; ++v) {
            f32x16 a[ROWS];
            for (int r = 0; r < ROWS; ++r) a[r] = load16(rows[r]->acc + v * kLanes) * correction[r];
            for (int64_t j = 0; j < c.count; ++j) {
                const f32x16 value =
                    KvRowReader<T>::load(row_at(c.values, c.c0 + j, c.row_bytes), v * kLanes);
                for (int r = 0; r < ROWS; ++r) a[r] += p[r][j] * value;
            }
            for (int r = 0; r < ROWS; ++r) store16(rows[r]->acc + v * kLanes, a[r]);
        }
    }
}

// One chunk for ROWS rows of one KV head: scores (own positions, grouped ones, or both picked
// per key on the band edge), the online softmax step, and the weighted values.
template <KvType T, int VECS, int ROWS>
void decode_pass(const DecodeChunk& c, DecodeRow* const rows[ROWS], const AttentionMode& mode,
                 float scale) {
    const float* q[ROWS];
    f32x16 s[ROWS] = {};
    if (c.kind != TileKind::Grouped) {
        for (int r = 0; r < ROWS; ++r) q[r] = rows[r]->q;
        chunk_scores<T, VECS, ROWS, false>(c, q, s);
    }
    if (c.kind != TileKind::Neighbour) {
        for (int r = 0; r < ROWS; ++r) q[r] = rows[r]->q_grouped;
        f32x16 grouped[ROWS];
        if constexpr (VECS > 0 && VECS % 2 == 0) {
            if (!c.turn)
                chunk_scores_split<T, VECS, ROWS>(c, q, grouped);
            else
                chunk_scores<T, VECS, ROWS, true>(c, q, grouped);
        } else {
            chunk_scores<T, VECS, ROWS, true>(c, q, grouped);
        }
        for (int r = 0; r < ROWS; ++r) {
            if (c.kind == TileKind::Grouped) {
                s[r] = grouped[r];
                continue;
            }
            // On the band edge key c0 + l is a neighbour of query i when c0 + l > i - W.
            const float last_grouped = float(rows[r]->i - mode.window - c.c0);
            s[r] = lane_indices() > last_grouped ? s[r] : grouped[r];
        }
    }
    f32x16 p[ROWS];
    float correction[ROWS];
    for (int r = 0; r < ROWS; ++r) {
        DecodeRow& row = *rows[r];
        const int64_t visible = std::min(c.count, row.i - c.c0 + 1);
        if (visible <= 0) {  // the whole chunk lies in this row's future
            p[r] = f32x16{};
            correction[r] = 1.0f;
            continue;
        }
        const f32x16 scores =
            lane_indices() < float(visible) ? s[r] * scale : splat16(kMinusInfinity);
        const float new_max = std::max(*row.max, horizontal_max(scores));
        correction[r] = std::exp(*row.max - new_max);
        p[r] = exp16(scores - new_max);
        *row.sum = *row.sum * correction[r] + horizontal_sum(p[r]);
        *row.max = new_max;
    }
    chunk_accumulate<T, VECS, ROWS>(c, rows, correction, p);
}

// Rows per pass: their accumulators (ROWS x VECS vectors) stay in registers.
template <int VECS>
constexpr int kRowsPerPass = VECS == 4   ? 4
                             : VECS == 8 ? 2
                                         : 1;

// Every query row of one KV head through one chunk, in passes of kRowsPerPass rows.
template <KvType T, int VECS>
void decode_rows(const DecodeChunk& c, DecodeRow* const* rows, int64_t count,
                 const AttentionMode& mode, float scale) {
    constexpr int kPass = kRowsPerPass<VECS>;
    int64_t r = 0;
    for (; r + kPass <= count; r += kPass) decode_pass<T, VECS, kPass>(c, rows + r, mode, scale);
    switch (count - r) {  // fewer than kPass left
        case 3:
            if constexpr (kPass > 3) decode_pass<T, VECS, 3>(c, rows + r, mode, scale);
            break;
        case 2:
            if constexpr (kPass > 2) decode_pass<T, VECS, 2>(c, rows + r, mode, scale);
            break;
        case 1:
            decode_pass<T, VECS, 1>(c, rows + r, mode, scale);
            break;
        default:
            break;
    }
}

// Work buffers of one thread's ranges.
struct DecodeScratch {
    std::vector<TurnBack> turn_back;  // [kChunk][head_dim / 16]
    std::vector<DecodeRow> rows;      // [kv_heads][rows per KV head]
    std::vector<DecodeRow*> row_pointers;
    DecodeScratch(int hd, int64_t all_rows)
        : turn_back(size_t(kChunk * hd / kLanes)),
          rows(size_t(all_rows)),
          row_pointers(size_t(all_rows)) {
        for (size_t r = 0; r < rows.size(); ++r) row_pointers[r] = &rows[r];
    }
};

template <KvType T, int VECS>
void decode_range(const AttentionCall& call, int64_t split, int64_t k0, int64_t k1,
                  Partials& partials, DecodeScratch& scratch) {
    const AttentionMode& mode = call.mode;
    const int hd = call.shape.head_dim;
    const int vecs = hd / kLanes;
    const int group_heads = call.group_heads();
    const int64_t rows = call.n * group_heads;  // per KV head
    const int64_t q_stride = call.q_stride();
    const size_t row_bytes = call.row_bytes();
    const int64_t first = call.first, last_query = call.first + call.n - 1;
    // Whole 32-value groups of RoPE pairs: grouped keys turn with table rows read directly.
    const bool split_pairs = VECS > 0 && VECS % 2 == 0 && 2 * call.rope.pairs() == hd;

    // Every row's state lives in this range's partials, empty to start with.
    for (int kv = 0; kv < call.shape.kv_heads; ++kv)
        for (int64_t r = 0; r < rows; ++r) {
            const int64_t t = r / group_heads;
            const int64_t head_offset = t * q_stride + (kv * group_heads + r % group_heads) * hd;
            const size_t at = partials.index(split, kv * rows + r);
            partials.max[at] = kMinusInfinity;
            partials.sum[at] = 0.0f;
            float* acc = partials.acc.data() + at * size_t(hd);
            std::fill_n(acc, hd, 0.0f);
            scratch.rows[size_t(kv * rows + r)] =
                DecodeRow{call.q + head_offset,
                          call.q_grouped ? call.q_grouped + head_offset : nullptr,
                          first + t,
                          &partials.max[at],
                          &partials.sum[at],
                          acc};
        }

    for (int64_t c0 = k0; c0 < k1; c0 += kChunk) {
        const int64_t count = std::min(kChunk, k1 - c0);
        const TileKind kind = classify(mode, first, last_query, c0, c0 + count - 1);
        if (kind != TileKind::Neighbour && !split_pairs)  // the same angles for every KV head
            for (int64_t j = 0; j < count; ++j) {
                const float* c = turn_back_cos(call.rope, c0 + j, mode.group);
                const float* s = turn_back_sin(call.rope, c0 + j, mode.group);
                for (int v = 0; v < vecs; ++v)
                    scratch.turn_back[size_t(j * vecs + v)] =
                        turn_back_factors(c, s, v * kLanes, call.rope.pairs());
            }
        for (int kv = 0; kv < call.shape.kv_heads; ++kv) {
            const DecodeChunk chunk{
                call.keys(kv), call.values(kv),
                row_bytes,     c0,
                count,         vecs,
                kind,          &call.rope,
                mode.group,    split_pairs ? nullptr : scratch.turn_back.data()};
            // The chunks after the next of this head are needed soon: ask for them now (four
            // streams of two heads outrun the hardware prefetcher).
            const int64_t ahead = std::min(k1, c0 + kPrefetchAhead);
            const int64_t from = std::min(k1, c0 + kPrefetchAhead - kChunk);
            prefetch_rows(chunk.keys, from, ahead, row_bytes);
            prefetch_rows(chunk.values, from, ahead, row_bytes);
            decode_rows<T, VECS>(chunk, scratch.row_pointers.data() + kv * rows, rows, mode,
                                 call.scale());
        }
    }
}

template <KvType T, int VECS>
void decode_attention(const AttentionCall& call, ThreadPool& pool) {
    const int hd = call.shape.head_dim;
    const int group_heads = call.group_heads();
    const int64_t rows = call.n * group_heads;
    const int64_t all_rows = int64_t(call.shape.kv_heads) * rows;
    const int64_t keys = call.first + call.n;
    const int64_t splits = (keys + kSplitKeys - 1) / kSplitKeys;
    Partials partials(splits, all_rows, hd);

    const int64_t grain = std::max<int64_t>(1, splits / (4 * int64_t(pool.size())));
    pool.parallel_for(splits, grain, [&](int64_t begin, int64_t end) {
        DecodeScratch scratch(hd, all_rows);
        for (int64_t split = begin; split < end; ++split)
            decode_range<T, VECS>(call, split, split * kSplitKeys,
                                  std::min(keys, (split + 1) * kSplitKeys), partials, scratch);
    });

    // Merge the ranges of each row, in split order.
    const int64_t q_stride = call.q_stride();
    for (int kv = 0; kv < call.shape.kv_heads; ++kv)
        for (int64_t r = 0; r < rows; ++r) {
            const int64_t row = kv * rows + r;
            float top = kMinusInfinity;
            for (int64_t split = 0; split < splits; ++split)
                top = std::max(top, partials.max[partials.index(split, row)]);
            const int64_t t = r / group_heads;
            float* o = call.out + t * q_stride + int64_t(kv * group_heads + r % group_heads) * hd;
            std::fill_n(o, hd, 0.0f);
            float total = 0.0f;
            for (int64_t split = 0; split < splits; ++split) {
                const size_t at = partials.index(split, row);
                if (partials.sum[at] == 0.0f) continue;  // the range lies in this row's future
                const float weight = std::exp(partials.max[at] - top);
                total += partials.sum[at] * weight;
                const float* a = partials.acc.data() + at * size_t(hd);
                for (int d = 0; d < hd; d += kLanes)
                    store16(o + d, load16(o + d) + weight * load16(a + d));
            }
            const float inverse = 1.0f / total;
            for (int d = 0; d < hd; d += kLanes) store16(o + d, load16(o + d) * inverse);
        }
}

template <KvType T>
void dispatch(const AttentionCall& call, ThreadPool& pool) {
    if (call.n > kDecodeMaxQueries) return prefill_attention<T>(call, pool);
    switch (call.shape.head_dim) {
        case 64:
            return decode_attention<T, 4>(call, pool);
        case 128:
            return decode_attention<T, 8>(call, pool);
        default:
            return decode_attention<T, 0>(call, pool);
    }
}

}  // namespace

void attention(const AttentionShape& shape, const AttentionMode& mode, const float* q,
               const float* q_grouped, const KvLayerView& cache, const RopeTable& rope,
               int64_t first, int64_t n, float* out, ThreadPool& pool) {
    const AttentionCall call{shape, mode, q, q_grouped, cache, rope, first, n, out};
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
