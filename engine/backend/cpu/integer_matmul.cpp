#include "backend/cpu/integer_matmul.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "backend/cpu/integer_dot.h"
#include "backend/cpu/quantized_dot.h"
#include "backend/cpu/thread_pool.h"
#include "backend/cpu/token_blocks.h"
#include "gguf/dtype.h"

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
#include <immintrin.h>
#endif

namespace selfextend::cpu {

namespace {

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)

template <typename Block>
const Block& block_at(const uint8_t* row, int64_t i) {
    return reinterpret_cast<const Block*>(row)[i];
}

constexpr int kCodeLimit = 4096;
constexpr int64_t kRows = 32;    // weight rows per panel: two registers of 16 lanes
constexpr int64_t kDepth = 256;  // columns per panel
constexpr int kTokens = 6;       // tokens per micro-kernel: 12 integer and 12 float accumulators

// 32 rows x kDepth columns as 16-bit codes, pairs of consecutive columns side by side in 32 bits
// (the operand layout of vpdpwssd), with each 32-column block's scale and offset per row.
struct Panel {
    alignas(64) uint32_t code_pairs[kDepth / 2][kRows];
    alignas(64) float scale[kDepth / 32][kRows];
    alignas(64) float offset[kDepth / 32][kRows];
    alignas(64) int16_t row_codes[kRows][kDepth];  // the codes row by row, before the transpose
    alignas(64) float values[kDepth];              // one row slice, dequantized
};

// Blocks [b0, b0 + count) (of 32 values) of a stored row as value = scale * code + offset, into
// the panel's row r, for the types multiplies_in_integers() names. The k-quants' codes carry their
// sub-block scale (Q6_K and Q3_K have sub-blocks of 16 under one d, Q4_K and Q5_K a min per 32),
// so a Q4_K/Q5_K block's offset is minus the super-block's min scale times the block's 6-bit min
// (the packed scales decoded once per super-block).
template <typename KBlock>
void k_quant_affines(const uint8_t* row, int64_t b0, int64_t count, Panel& panel, int64_t r) {
    for (int64_t s = b0 / 8; s * 8 < b0 + count; ++s) {
        const KBlock& block = block_at<KBlock>(row, s);
        const KScalesMins sm = k_quant_scales_mins(block.scales);
        const float d = half_value(block.scale), dmin = half_value(block.min_scale);
        for (int64_t i = std::max(b0, 8 * s); i < std::min(b0 + count, 8 * s + 8); ++i) {
            panel.scale[i - b0][r] = d;
            panel.offset[i - b0][r] = -dmin * float(sm.min[i % 8]);
        }
    }
}

void block_affines(DType type, const uint8_t* row, int64_t b0, int64_t count, Panel& panel,
                   int64_t r) {
    if (type == DType::Q4_K) return k_quant_affines<BlockQ4_K>(row, b0, count, panel, r);
    if (type == DType::Q5_K) return k_quant_affines<BlockQ5_K>(row, b0, count, panel, r);
    for (int64_t i = b0; i < b0 + count; ++i) {
        float scale = 0, offset = 0;
        switch (type) {
            case DType::Q8_0:
                scale = half_value(block_at<BlockQ8_0>(row, i).scale);
                break;
            case DType::Q4_0:
                scale = half_value(block_at<BlockQ4_0>(row, i).scale);
                break;
            case DType::Q5_0:
                scale = half_value(block_at<BlockQ5_0>(row, i).scale);
                break;
            case DType::Q4_1:
                scale = half_value(block_at<BlockQ4_1>(row, i).scale);
                offset = half_value(block_at<BlockQ4_1>(row, i).min);
                break;
            case DType::Q5_1:
                scale = half_value(block_at<BlockQ5_1>(row, i).scale);
                offset = half_value(block_at<BlockQ5_1>(row, i).min);
                break;
            case DType::Q3_K:
                scale = half_value(block_at<BlockQ3_K>(row, i / 8).scale);
                break;
            case DType::Q6_K:
                scale = half_value(block_at<BlockQ6_K>(row, i / 8).scale);
                break;
            default:  // not reached: integer_matmul() checks multiplies_in_integers() first
                break;
        }
        panel.scale[i - b0][r] = scale;
        panel.offset[i - b0][r] = offset;
    }
}

// The codes of columns [k0, k0 + depth) of a stored row, straight from the bits for the types
// users run most (Q4_K, Q6_K, Q8_0: no float round trip); false for the others.
bool codes_from_bits(DType type, const uint8_t* row, int64_t k0, int64_t depth, int16_t* codes) {
    constexpr int kChunks = kSuperBlock / 32;
    switch (type) {
        case DType::Q4_K:
            for (int64_t s = k0 / kSuperBlock; s < (k0 + depth) / kSuperBlock; ++s) {
                const BlockQ4_K& block = block_at<BlockQ4_K>(row, s);
                const KScalesMins sm = k_quant_scales_mins(block.scales);
                u8x32 chunk[kChunks];
                q4_k_codes(block, chunk);
                for (int j = 0; j < kChunks; ++j)
                    store_vector(codes + (s * kSuperBlock - k0) + 32 * j,
                                 widen(chunk[j]) * int16_t(sm.scale[j]));
            }
            return true;
        case DType::Q6_K:
            for (int64_t s = k0 / kSuperBlock; s < (k0 + depth) / kSuperBlock; ++s) {
                const BlockQ6_K& block = block_at<BlockQ6_K>(row, s);
                u8x32 chunk[kChunks];
                q6_k_codes(block, chunk);
                for (int j = 0; j < kChunks; ++j)
                    store_vector(codes + (s * kSuperBlock - k0) + 32 * j,
                                 (widen(chunk[j]) - int16_t(32)) *
                                     halves(block.scales[2 * j], block.scales[2 * j + 1]));
            }
            return true;
        case DType::Q8_0:
            for (int64_t b = k0 / 32; b < (k0 + depth) / 32; ++b)
                store_vector(codes + (b * 32 - k0),
                             widen(load_vector<i8x32>(block_at<BlockQ8_0>(row, b).q)));
            return true;
        default:
            return false;
    }
}

// Rows [r0, r0 + 32) x columns [k0, k0 + depth) of w into the panel (rows past the end zero).
// Where there is no path from the bits, the codes come from the dequantized values: code =
// (value - offset) / scale, exact after rounding (the values are scale * code + offset in float,
// codes of at most 13 bits), so those types' bit layouts stay in one place (gguf/dequantize.cpp).
void fill_panel(const WeightMatrix& w, int64_t r0, int64_t k0, int64_t depth, Panel& panel) {
    const DTypeTraits& type = *w.dtype;
    const int64_t rows = std::min(kRows, w.rows - r0);
    // (The zero-masked forms: GCC 12 warns about the unmasked ones' undefined source.)
    const __m512i low = _mm512_set1_epi32(-kCodeLimit), high = _mm512_set1_epi32(kCodeLimit);
    for (int64_t r = 0; r < kRows; ++r) {
        if (r >= rows) {
            std::fill_n(panel.row_codes[r], depth, int16_t(0));
            for (int64_t b = 0; b < depth / 32; ++b) panel.scale[b][r] = panel.offset[b][r] = 0;
            continue;
        }
        const uint8_t* row = w.row(r0 + r);
        block_affines(type.type, row, k0 / 32, depth / 32, panel, r);
        if (codes_from_bits(type.type, row, k0, depth, panel.row_codes[r])) continue;
        type.dequantize_row(row + k0 / type.block_size * type.bytes_per_block, panel.values, depth);
        for (int64_t b = 0; b < depth / 32; ++b) {
            const __m512 offset = _mm512_set1_ps(panel.offset[b][r]);
            const float scale = panel.scale[b][r];
            const __m512 inverse = _mm512_set1_ps(scale != 0 ? 1.0f / scale : 0.0f);
            for (int64_t k = 32 * b; k < 32 * b + 32; k += 16) {
                const __m512 v = _mm512_loadu_ps(panel.values + k);
                // Rounded to nearest; a damaged scale (inf, NaN) gives codes held to the limit.
                __m512i code = _mm512_maskz_cvtps_epi32(
                    0xffff, _mm512_mul_ps(_mm512_sub_ps(v, offset), inverse));
                code =
                    _mm512_maskz_min_epi32(0xffff, _mm512_maskz_max_epi32(0xffff, code, low), high);
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(&panel.row_codes[r][k]),
                                    _mm512_maskz_cvtepi32_epi16(0xffff, code));
            }
        }
    }
    for (int64_t j = 0; j < depth / 2; ++j)
        for (int64_t r = 0; r < kRows; ++r)
            std::memcpy(&panel.code_pairs[j][r], &panel.row_codes[r][2 * j], sizeof(uint32_t));
}

// y[t0 + m][r0 + r] (+)= panel row r times columns [k0, k0 + depth) of token t0 + m.
template <int TOKENS>
void panel_kernel(const Panel& panel, int64_t depth, const Int16Activations* tokens, int64_t k0,
                  int64_t t0, float* y, int64_t y_stride, int64_t r0, int64_t rows) {
    __m512 acc[TOKENS][2];
    for (int m = 0; m < TOKENS; ++m) {
        const float* out = y + (t0 + m) * y_stride + r0;
        if (k0 == 0) {
            acc[m][0] = acc[m][1] = _mm512_setzero_ps();
        } else if (rows == kRows) {
            acc[m][0] = _mm512_loadu_ps(out);
            acc[m][1] = _mm512_loadu_ps(out + 16);
        } else {  // the last panel's rows, fewer than 32
            const auto mask = __mmask32((uint64_t(1) << rows) - 1);
            acc[m][0] = _mm512_maskz_loadu_ps(__mmask16(mask), out);
            acc[m][1] = _mm512_maskz_loadu_ps(__mmask16(mask >> 16), out + 16);
        }
    }
    for (int64_t b = 0; b < depth / 32; ++b) {
        __m512i sum[TOKENS][2];
        const int16_t* xq[TOKENS];
        for (int m = 0; m < TOKENS; ++m) {
            sum[m][0] = sum[m][1] = _mm512_setzero_si512();
            xq[m] = tokens[t0 + m].q.data() + k0 + 32 * b;
        }
#pragma GCC unroll 16
        for (int j = 0; j < 16; ++j) {
            const __m512i w0 = _mm512_load_si512(&panel.code_pairs[16 * b + j][0]);
            const __m512i w1 = _mm512_load_si512(&panel.code_pairs[16 * b + j][16]);
            for (int m = 0; m < TOKENS; ++m) {
                int32_t pair;
                std::memcpy(&pair, xq[m] + 2 * j, sizeof pair);
                const __m512i x = _mm512_set1_epi32(pair);
                sum[m][0] = _mm512_dpwssd_epi32(sum[m][0], w0, x);
                sum[m][1] = _mm512_dpwssd_epi32(sum[m][1], w1, x);
            }
        }
        const __m512 scale0 = _mm512_load_ps(panel.scale[b]);
        const __m512 scale1 = _mm512_load_ps(panel.scale[b] + 16);
        const __m512 offset0 = _mm512_load_ps(panel.offset[b]);
        const __m512 offset1 = _mm512_load_ps(panel.offset[b] + 16);
        for (int m = 0; m < TOKENS; ++m) {
            const Int16Activations& t = tokens[t0 + m];
            const size_t block = size_t(k0 / 32 + b);
            const __m512 x_scale = _mm512_set1_ps(t.scale[block]);
            const __m512 x_sum = _mm512_set1_ps(t.sum[block]);
            acc[m][0] = _mm512_fmadd_ps(offset0, x_sum, acc[m][0]);
            acc[m][1] = _mm512_fmadd_ps(offset1, x_sum, acc[m][1]);
            acc[m][0] = _mm512_fmadd_ps(_mm512_maskz_cvtepi32_ps(0xffff, sum[m][0]),
                                        _mm512_mul_ps(scale0, x_scale), acc[m][0]);
            acc[m][1] = _mm512_fmadd_ps(_mm512_maskz_cvtepi32_ps(0xffff, sum[m][1]),
                                        _mm512_mul_ps(scale1, x_scale), acc[m][1]);
        }
    }
    const auto mask = __mmask32((uint64_t(1) << rows) - 1);
    for (int m = 0; m < TOKENS; ++m) {
        float* out = y + (t0 + m) * y_stride + r0;
        _mm512_mask_storeu_ps(out, __mmask16(mask), acc[m][0]);
        _mm512_mask_storeu_ps(out + 16, __mmask16(mask >> 16), acc[m][1]);
    }
}

#endif

}  // namespace

bool integer_matmul(const WeightMatrix& w, const float* x, int64_t n, float* y, ThreadPool& pool) {
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
    if (!multiplies_in_integers(w.dtype->type) || w.cols % 32 != 0) return false;
    std::vector<Int16Activations> tokens(static_cast<size_t>(n));
    pool.parallel_for(n, 4, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t)
            tokens[size_t(t)].quantize(x + t * w.cols, w.cols, 32, kIntegerMatmulActivationLimit);
    });
    const int64_t panels = (w.rows + kRows - 1) / kRows;
    pool.parallel_for(panels, 1, [&](int64_t begin, int64_t end) {
        const auto panel = std::make_unique<Panel>();
        for (int64_t p = begin; p < end; ++p) {
            const int64_t r0 = p * kRows;
            const int64_t rows = std::min(kRows, w.rows - r0);
            for (int64_t k0 = 0; k0 < w.cols; k0 += kDepth) {
                const int64_t depth = std::min(kDepth, w.cols - k0);
                fill_panel(w, r0, k0, depth, *panel);
                for_token_blocks<kTokens>(n, [&]<int TOKENS>(int64_t t0) {
                    panel_kernel<TOKENS>(*panel, depth, tokens.data(), k0, t0, y, w.rows, r0, rows);
                });
            }
        }
    });
    return true;
#else
    (void)w, (void)x, (void)n, (void)y, (void)pool;
    return false;
#endif
}

}  // namespace selfextend::cpu
