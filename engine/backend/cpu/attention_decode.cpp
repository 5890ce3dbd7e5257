// Decode: a few queries against the whole cache, the keys split into ranges across threads
// (split-K, "flash decoding").
//
// Each range [k0, k1) runs the online softmax over its keys, sixteen at a time, for every KV
// head and every query row of that head (row r = t * group_heads + gh), and leaves a partial
// state: its max m_s, normaliser l_s and unnormalised sum of values a_s. The ranges are merged
// by their log-sum-exp: out = sum_s e^(m_s - M) a_s / sum_s e^(m_s - M) l_s, M = max_s m_s.
// Each stored key and value row is read and converted once per pass of up to four query rows,
// straight into registers.
//
// Attention mass (AttentionMass, when asked for): each range also keeps its rows' scaled scores;
// once the merge knows a row's global max M and normaliser L, key j's probability is
// e^(s_j - M) / L, from the very scores the softmax used.

#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cpu/attention_parts.h"
#include "backend/cpu/kv_row.h"
#include "backend/cpu/simd.h"
#include "backend/cpu/thread_pool.h"
#include "backend/cpu/vector_math.h"

namespace selfextend::cpu::attention_parts {

namespace {

constexpr int64_t kChunk = kLanes;  // keys per step: one vector of scores
// Keys per range. Fixed (not derived from the thread count) so that the result does not depend
// on how many threads run it; small enough that two threads share 512 keys evenly.
constexpr int64_t kSplitKeys = 128;
static_assert(kSplitKeys % kChunk == 0);

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

constexpr int kMaxVecs = 16;  // head_dim <= 256

struct Partials {
    int64_t rows_per_split = 0;  // kv_heads * rows per KV head
    int head_dim = 0;
    std::vector<float> max, sum, acc;  // [split][row], [split][row], [split][row][head_dim]
    std::vector<float> scores;  // [split][row][kSplitKeys] when the mass is collected, else empty

    Partials(int64_t splits, int64_t rows, int hd, bool keep_scores)
        : rows_per_split(rows),
          head_dim(hd),
          max(size_t(splits * rows)),
          sum(size_t(splits * rows)),
          acc(size_t(splits * rows * hd)),
          scores(keep_scores ? size_t(splits * rows * kSplitKeys) : 0) {}
    size_t index(int64_t split, int64_t row) const { return size_t(split * rows_per_split + row); }
};

// One query row within a range: its query vectors and its running softmax state.
struct DecodeRow {
    const float* q = nullptr;          // rotated at i
    const float* q_grouped = nullptr;  // rotated at the grouped query position (Self-Extend)
    int64_t i = 0;                     // the query's position
    int64_t first_key = 0;             // the first key it sees (sliding-window layers)
    float* max = nullptr;
    float* sum = nullptr;
    float* acc = nullptr;  // head_dim values
    // The range's scaled scores, from its first key k0 on (kSplitKeys values); null: not kept.
    float* scores = nullptr;
    int64_t k0 = 0;
};

// One chunk of one KV head's keys and values, as a pass over rows needs it.
struct DecodeChunk {
    const std::byte* keys;          // the head's blocks: keys at their own positions,
    const std::byte* grouped_keys;  // at their grouped positions (Self-Extend), and values
    const std::byte* values;
    size_t row_bytes;
    int64_t c0, count;
    int vecs;  // head_dim / 16
    TileKind kind;
};

// Scores q . key_j for the chunk's keys in `keys` (zero past count), ROWS query rows at once:
// each key row is read and converted once, its vectors multiplied with every row's query in
// registers, and each row's sixteen products finished by transpose_sum. VECS = head_dim / 16
// when fixed at compile time, 0 otherwise.
template <KvType T, int VECS, int ROWS>
void chunk_scores(const DecodeChunk& c, const std::byte* keys, const float* const q[ROWS],
                  f32x16 scores[ROWS]) {
    constexpr int kVecs = VECS ? VECS : kMaxVecs;
    const int vecs = VECS ? VECS : c.vecs;
    f32x16 qv[ROWS][kVecs];
    for (int r = 0; r < ROWS; ++r)
        for (int v = 0; v < vecs; ++v) qv[r][v] = load16(q[r] + v * kLanes);
    f32x16 products[ROWS][kLanes];
    for (int64_t j = 0; j < kLanes; ++j) {
        f32x16 a[ROWS] = {};
        if (j < c.count) {
            const std::byte* row = row_at(keys, c.c0 + j, c.row_bytes);
            for (int v = 0; v < vecs; ++v) {
                const f32x16 key = KvRowReader<T>::load(row, v * kLanes);
                for (int r = 0; r < ROWS; ++r) a[r] += qv[r][v] * key;
            }
        }
        for (int r = 0; r < ROWS; ++r) products[r][j] = a[r];
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
        chunk_scores<T, VECS, ROWS>(c, c.keys, q, s);
    }
    if (c.kind != TileKind::Neighbour) {
        for (int r = 0; r < ROWS; ++r) q[r] = rows[r]->q_grouped;
        f32x16 grouped[ROWS];
        chunk_scores<T, VECS, ROWS>(c, c.grouped_keys, q, grouped);
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
        // Keys c0 .. c0 + hidden - 1 lie before the row's sliding window.
        const int64_t hidden = std::max<int64_t>(0, row.first_key - c.c0);
        if (visible <= hidden) {  // the whole chunk lies in this row's future or before its window
            p[r] = f32x16{};
            correction[r] = 1.0f;
            if (row.scores) store16(row.scores + (c.c0 - row.k0), splat16(kMinusInfinity));
            continue;
        }
        const f32x16 lane = lane_indices();
        const f32x16 scores = ((lane < float(visible)) & (lane >= float(hidden)))
                                  ? s[r] * scale
                                  : splat16(kMinusInfinity);
        if (row.scores) store16(row.scores + (c.c0 - row.k0), scores);
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
    std::vector<DecodeRow> rows;  // [kv_heads][rows per KV head]
    std::vector<DecodeRow*> row_pointers;
    explicit DecodeScratch(int64_t all_rows)
        : rows(size_t(all_rows)), row_pointers(size_t(all_rows)) {
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
            float* scores =
                partials.scores.empty() ? nullptr : partials.scores.data() + at * kSplitKeys;
            scratch.rows[size_t(kv * rows + r)] =
                DecodeRow{call.q + head_offset,
                          call.q_grouped ? call.q_grouped + head_offset : nullptr,
                          first + t,
                          call.first_key(first + t),
                          &partials.max[at],
                          &partials.sum[at],
                          acc,
                          scores,
                          k0};
        }

    for (int64_t c0 = k0; c0 < k1; c0 += kChunk) {
        const int64_t count = std::min(kChunk, k1 - c0);
        const TileKind kind = classify(mode, first, last_query, c0, c0 + count - 1);
        for (int kv = 0; kv < call.shape.kv_heads; ++kv) {
            const DecodeChunk chunk{
                call.keys(kv), call.grouped_keys(kv), call.values(kv), row_bytes, c0, count, vecs,
                kind};
            decode_rows<T, VECS>(chunk, scratch.row_pointers.data() + kv * rows, rows, mode,
                                 call.scale());
        }
    }
}

// mass[j] += weight * e^(s_j - M) / L for every row, from the scores each range kept (M, L: the
// row's merged max and normaliser). Ranges run in parallel: each adds to its own keys only.
void add_attention_mass(const AttentionCall& call, const Partials& partials, int64_t skipped,
                        int64_t splits, const std::vector<float>& top,
                        const std::vector<float>& total, ThreadPool& pool) {
    const int64_t keys = call.first + call.n;
    const int64_t all_rows = partials.rows_per_split;
    pool.parallel_for(splits, 1, [&](int64_t begin, int64_t end) {
        for (int64_t split = begin; split < end; ++split) {
            const int64_t k0 = (skipped + split) * kSplitKeys;
            const int64_t count = std::min(keys, k0 + kSplitKeys) - k0;
            f32x16 added[kSplitKeys / kLanes] = {};
            for (int64_t row = 0; row < all_rows; ++row) {
                const size_t at = partials.index(split, row);
                if (partials.sum[at] == 0.0f) continue;  // the range lies in this row's future
                const float* scores = partials.scores.data() + at * kSplitKeys;
                const float weight = call.mass->weight / total[size_t(row)];
                for (int64_t c = 0; c < count; c += kLanes)
                    added[c / kLanes] += exp16(load16(scores + c) - top[size_t(row)]) * weight;
            }
            float* sum = call.mass->sum + k0;
            for (int64_t j = 0; j < count; ++j) sum[j] += added[j / kLanes][j % kLanes];
        }
    });
}

template <KvType T, int VECS>
void split_k_attention(const AttentionCall& call, ThreadPool& pool) {
    const int hd = call.shape.head_dim;
    const int group_heads = call.group_heads();
    const int64_t rows = call.n * group_heads;
    const int64_t all_rows = int64_t(call.shape.kv_heads) * rows;
    const int64_t keys = call.first + call.n;
    // Ranges wholly before the first query's sliding window are seen by no row: skipped.
    const int64_t skipped = call.first_key(call.first) / kSplitKeys;
    const int64_t splits = (keys + kSplitKeys - 1) / kSplitKeys - skipped;
    const bool collect_mass = call.mass && call.mass->sum;
    Partials partials(splits, all_rows, hd, collect_mass);

    const int64_t grain = std::max<int64_t>(1, splits / (4 * int64_t(pool.size())));
    pool.parallel_for(splits, grain, [&](int64_t begin, int64_t end) {
        DecodeScratch scratch(all_rows);
        for (int64_t split = begin; split < end; ++split)
            decode_range<T, VECS>(call, split, (skipped + split) * kSplitKeys,
                                  std::min(keys, (skipped + split + 1) * kSplitKeys), partials,
                                  scratch);
    });

    // Merge the ranges of each row, in split order.
    const int64_t q_stride = call.q_stride();
    std::vector<float> tops, totals;  // per row, for the attention mass
    if (collect_mass) {
        tops.resize(size_t(all_rows));
        totals.resize(size_t(all_rows));
    }
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
            if (collect_mass) {
                tops[size_t(row)] = top;
                totals[size_t(row)] = total;
            }
        }
    if (collect_mass) add_attention_mass(call, partials, skipped, splits, tops, totals, pool);
}

// Head dimensions 64, 128 and 256 (Gemma) get kernels with their vector counts fixed at compile
// time.
template <KvType T>
void decode_for_head_dim(const AttentionCall& call, ThreadPool& pool) {
    switch (call.shape.head_dim) {
        case 64:
            return split_k_attention<T, 4>(call, pool);
        case 128:
            return split_k_attention<T, 8>(call, pool);
        case 256:
            return split_k_attention<T, 16>(call, pool);
        default:
            return split_k_attention<T, 0>(call, pool);
    }
}

}  // namespace

void decode_attention(const AttentionCall& call, ThreadPool& pool) {
    switch (call.cache.type) {
        case KvType::F32:
            return decode_for_head_dim<KvType::F32>(call, pool);
        case KvType::F16:
            return decode_for_head_dim<KvType::F16>(call, pool);
        case KvType::Q8_0:
            return decode_for_head_dim<KvType::Q8_0>(call, pool);
    }
}

}  // namespace selfextend::cpu::attention_parts
