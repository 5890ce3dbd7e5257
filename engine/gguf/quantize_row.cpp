// The quantizers of dtype.h: float rows into blocks.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "gguf/dtype.h"

namespace selfextend {

namespace {

constexpr int kHalf = kLegacyBlock / 2;

int round_clamped(float v, int lo, int hi) {
    return std::clamp(int(std::lround(v)), lo, hi);
}

// The smallest f16 not below v (v >= 0), so that a scale rounded to f16 never shrinks a range.
uint16_t half_at_least(float v) {
    const uint16_t h = float_to_half(v);
    return half_to_float(h) < v ? uint16_t(h + 1) : h;
}

void store_high_bits(uint32_t bits, uint8_t (&bytes)[4]) {
    for (int k = 0; k < 4; ++k) bytes[k] = uint8_t(bits >> (8 * k));
}

// Q4_0 / Q5_0: the value of largest magnitude, sign kept, maps to code 0 (-offset * d).
template <int kOffset>
float symmetric_block_scale(const float* x) {
    float extreme = 0;
    for (int k = 0; k < kLegacyBlock; ++k)
        if (std::fabs(x[k]) > std::fabs(extreme)) extreme = x[k];
    return extreme / -float(kOffset);
}

// Q4_1 / Q5_1: codes 0..kMaxCode spread from the block's minimum to its maximum. Codes are
// rounded under the stored f16 scale and min.
template <int kMaxCode, typename Block>
void affine_block(const float* x, Block& block, int* codes) {
    const auto [lo, hi] = std::minmax_element(x, x + kLegacyBlock);
    block.scale = float_to_half((*hi - *lo) / float(kMaxCode));
    block.min = float_to_half(*lo);
    const float scale = half_to_float(block.scale), min = half_to_float(block.min);
    const float inverse = scale > 0 ? 1.0f / scale : 0.0f;
    for (int k = 0; k < kLegacyBlock; ++k)
        codes[k] = round_clamped((x[k] - min) * inverse, 0, kMaxCode);
}

// Packs 5-bit codes: low nibbles as in Q4_0, fifth bits into the high-bit word.
template <typename Block>
void pack_q5(const int* codes, Block& block) {
    uint32_t high = 0;
    for (int k = 0; k < kHalf; ++k) {
        block.q[k] = uint8_t((codes[k] & 0x0f) | (codes[k + kHalf] & 0x0f) << 4);
        high |= uint32_t(codes[k] >> 4) << k | uint32_t(codes[k + kHalf] >> 4) << (k + kHalf);
    }
    store_high_bits(high, block.high_bits);
}

// ----- k-quants --------------------------------------------------------------------------------

// Sub-blocks with value = d * scale[j] * code - dmin * min[j] (Q2_K, Q4_K, Q5_K): the min
// covers the sub-block's most negative value, the scale stretches the codes over the rest, and
// both integers are rounded up so that no value falls outside its sub-block's range.
struct AffineFit {
    uint16_t d = 0, dmin = 0;
    int scale[kSuperBlock / 16] = {};
    int min[kSuperBlock / 16] = {};
    int codes[kSuperBlock] = {};
};

AffineFit fit_affine(const float* x, int sub_size, int max_code, int max_level) {
    const int subs = kSuperBlock / sub_size;
    AffineFit fit;
    float lows[kSuperBlock / 16], highs[kSuperBlock / 16];
    float largest_low = 0;
    for (int j = 0; j < subs; ++j) {
        const auto [lo, hi] = std::minmax_element(x + j * sub_size, x + (j + 1) * sub_size);
        lows[j] = std::max(0.0f, -*lo);  // subtracted by the min term, never added
        highs[j] = *hi;
        largest_low = std::max(largest_low, lows[j]);
    }
    fit.dmin = half_at_least(largest_low / float(max_level));
    const float dmin = half_to_float(fit.dmin);
    float spans[kSuperBlock / 16], largest_step = 0;
    for (int j = 0; j < subs; ++j) {
        fit.min[j] = dmin > 0 ? std::min(max_level, int(std::ceil(lows[j] / dmin))) : 0;
        spans[j] = std::max(0.0f, highs[j] + dmin * float(fit.min[j]));
        largest_step = std::max(largest_step, spans[j] / float(max_code));
    }
    fit.d = half_at_least(largest_step / float(max_level));
    const float d = half_to_float(fit.d);
    for (int j = 0; j < subs; ++j) {
        fit.scale[j] =
            d > 0 ? std::min(max_level, int(std::ceil(spans[j] / float(max_code) / d))) : 0;
        const float step = d * float(fit.scale[j]), offset = dmin * float(fit.min[j]);
        const float inverse = step > 0 ? 1.0f / step : 0.0f;
        for (int l = 0; l < sub_size; ++l) {
            const int v = j * sub_size + l;
            fit.codes[v] = round_clamped((x[v] + offset) * inverse, 0, max_code);
        }
    }
    return fit;
}

// Sub-blocks of 16 with value = d * scale[j] * code, codes min_code..max_code (Q3_K, Q6_K).
struct SymmetricFit {
    uint16_t d = 0;
    int scale[kSuperBlock / 16] = {};
    int codes[kSuperBlock] = {};
};

SymmetricFit fit_symmetric(const float* x, int min_code, int max_code, int max_level) {
    SymmetricFit fit;
    float steps[kSuperBlock / 16], largest_step = 0;
    for (int j = 0; j < kSuperBlock / 16; ++j) {
        float amax = 0;
        for (int l = 0; l < 16; ++l) amax = std::max(amax, std::fabs(x[16 * j + l]));
        steps[j] = amax / float(max_code);
        largest_step = std::max(largest_step, steps[j]);
    }
    fit.d = half_at_least(largest_step / float(max_level));
    const float d = half_to_float(fit.d);
    for (int j = 0; j < kSuperBlock / 16; ++j) {
        fit.scale[j] = d > 0 ? std::min(max_level, int(std::ceil(steps[j] / d))) : 0;
        const float step = d * float(fit.scale[j]);
        const float inverse = step > 0 ? 1.0f / step : 0.0f;
        for (int l = 0; l < 16; ++l)
            fit.codes[16 * j + l] = round_clamped(x[16 * j + l] * inverse, min_code, max_code);
    }
    return fit;
}

// The 6-bit scales and mins of Q4_K / Q5_K into their 12 bytes (see k_quant_scales_mins).
void pack_k_scales(const AffineFit& fit, uint8_t* scales) {
    std::memset(scales, 0, 12);
    for (int j = 0; j < 8; ++j) {
        const int s = fit.scale[j], m = fit.min[j];
        if (j < 4) {
            scales[j] = uint8_t(s);
            scales[j + 4] = uint8_t(m);
        } else {
            scales[j + 4] = uint8_t((s & 0x0f) | (m & 0x0f) << 4);
            scales[j - 4] |= uint8_t((s >> 4) << 6);
            scales[j] |= uint8_t((m >> 4) << 6);
        }
    }
}

// Two-bit codes of Q2_K / Q3_K: value v at shift 2 * ((v % 128) / 32) of q[32 * (v / 128) + v %
// 32].
void pack_two_bit(const int* codes, uint8_t* q) {
    std::memset(q, 0, kSuperBlock / 4);
    for (int v = 0; v < kSuperBlock; ++v)
        q[32 * (v / 128) + v % 32] |= uint8_t((codes[v] & 3) << (2 * ((v % 128) / 32)));
}

// Nibbles of Q4_K / Q5_K: sub-block j in the low (even j) or high (odd j) nibbles of
// q[32 * (j / 2) ...].
void pack_nibbles_k(const int* codes, uint8_t* q) {
    for (int c = 0; c < kSuperBlock / 64; ++c)
        for (int l = 0; l < 32; ++l)
            q[32 * c + l] =
                uint8_t((codes[64 * c + l] & 0x0f) | (codes[64 * c + 32 + l] & 0x0f) << 4);
}

}  // namespace

void quantize_row_q8_0(const float* src, BlockQ8_0* dst, int64_t n) {
    for (int64_t b = 0; b < n / kQ8_0Block; ++b) {
        const float* x = src + b * kQ8_0Block;
        float amax = 0;
        for (int k = 0; k < kQ8_0Block; ++k) amax = std::max(amax, std::fabs(x[k]));
        const float scale = amax / 127.0f;
        const float inverse = scale > 0 ? 1.0f / scale : 0.0f;
        dst[b].scale = float_to_half(scale);
        for (int k = 0; k < kQ8_0Block; ++k) dst[b].q[k] = int8_t(std::lround(x[k] * inverse));
    }
}

void quantize_row_q4_0(const float* src, BlockQ4_0* dst, int64_t n) {
    for (int64_t b = 0; b < n / kQ4_0Block; ++b) {
        const float* x = src + b * kQ4_0Block;
        const float scale = symmetric_block_scale<8>(x);
        const float inverse = scale != 0 ? 1.0f / scale : 0.0f;
        dst[b].scale = float_to_half(scale);
        auto code = [&](float v) { return uint8_t(round_clamped(v * inverse, -8, 7) + 8); };
        for (int k = 0; k < kHalf; ++k)
            dst[b].q[k] = uint8_t(code(x[k]) | (code(x[k + kHalf]) << 4));
    }
}

void quantize_row_q4_1(const float* src, BlockQ4_1* dst, int64_t n) {
    int codes[kLegacyBlock];
    for (int64_t b = 0; b < n / kLegacyBlock; ++b) {
        affine_block<15>(src + b * kLegacyBlock, dst[b], codes);
        for (int k = 0; k < kHalf; ++k) dst[b].q[k] = uint8_t(codes[k] | codes[k + kHalf] << 4);
    }
}

void quantize_row_q5_0(const float* src, BlockQ5_0* dst, int64_t n) {
    int codes[kLegacyBlock];
    for (int64_t b = 0; b < n / kLegacyBlock; ++b) {
        const float* x = src + b * kLegacyBlock;
        dst[b].scale = float_to_half(symmetric_block_scale<16>(x));
        const float scale = half_to_float(dst[b].scale);
        const float inverse = scale != 0 ? 1.0f / scale : 0.0f;
        for (int k = 0; k < kLegacyBlock; ++k)
            codes[k] = round_clamped(x[k] * inverse, -16, 15) + 16;
        pack_q5(codes, dst[b]);
    }
}

void quantize_row_q5_1(const float* src, BlockQ5_1* dst, int64_t n) {
    int codes[kLegacyBlock];
    for (int64_t b = 0; b < n / kLegacyBlock; ++b) {
        affine_block<31>(src + b * kLegacyBlock, dst[b], codes);
        pack_q5(codes, dst[b]);
    }
}

void quantize_row_q2_k(const float* src, BlockQ2_K* dst, int64_t n) {
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        const AffineFit fit = fit_affine(src + b * kSuperBlock, 16, 3, 15);
        dst[b].scale = fit.d;
        dst[b].min_scale = fit.dmin;
        for (int j = 0; j < 16; ++j) dst[b].scales[j] = uint8_t(fit.scale[j] | fit.min[j] << 4);
        pack_two_bit(fit.codes, dst[b].q);
    }
}

void quantize_row_q3_k(const float* src, BlockQ3_K* dst, int64_t n) {
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        const SymmetricFit fit = fit_symmetric(src + b * kSuperBlock, -4, 3, 31);
        BlockQ3_K& block = dst[b];
        block.scale = fit.d;
        std::memset(block.scales, 0, sizeof block.scales);
        for (int j = 0; j < 16; ++j) {
            const int stored = fit.scale[j] + 32;
            block.scales[j % 8] |= uint8_t((stored & 0x0f) << (4 * (j / 8)));
            block.scales[8 + j % 4] |= uint8_t((stored >> 4) << (2 * (j / 4)));
        }
        int low[kSuperBlock];
        std::memset(block.high_bits, 0, sizeof block.high_bits);
        for (int v = 0; v < kSuperBlock; ++v) {
            const int code = fit.codes[v] + 4;  // 0..7
            low[v] = code & 3;
            block.high_bits[v % 32] |= uint8_t((code >> 2) << (v / 32));
        }
        pack_two_bit(low, block.q);
    }
}

void quantize_row_q4_k(const float* src, BlockQ4_K* dst, int64_t n) {
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        const AffineFit fit = fit_affine(src + b * kSuperBlock, 32, 15, 63);
        dst[b].scale = fit.d;
        dst[b].min_scale = fit.dmin;
        pack_k_scales(fit, dst[b].scales);
        pack_nibbles_k(fit.codes, dst[b].q);
    }
}

void quantize_row_q5_k(const float* src, BlockQ5_K* dst, int64_t n) {
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        const AffineFit fit = fit_affine(src + b * kSuperBlock, 32, 31, 63);
        BlockQ5_K& block = dst[b];
        block.scale = fit.d;
        block.min_scale = fit.dmin;
        pack_k_scales(fit, block.scales);
        pack_nibbles_k(fit.codes, block.q);
        std::memset(block.high_bits, 0, sizeof block.high_bits);
        for (int v = 0; v < kSuperBlock; ++v)
            block.high_bits[v % 32] |= uint8_t((fit.codes[v] >> 4) << (v / 32));
    }
}

void quantize_row_q6_k(const float* src, BlockQ6_K* dst, int64_t n) {
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        const SymmetricFit fit = fit_symmetric(src + b * kSuperBlock, -32, 31, 127);
        BlockQ6_K& block = dst[b];
        block.scale = fit.d;
        for (int j = 0; j < 16; ++j) block.scales[j] = int8_t(fit.scale[j]);
        std::memset(block.low, 0, sizeof block.low);
        std::memset(block.high, 0, sizeof block.high);
        for (int v = 0; v < kSuperBlock; ++v) {
            const int code = fit.codes[v] + 32;  // 0..63
            const int half = v / 128, g = (v % 128) / 32, l = v % 32;
            block.low[64 * half + 32 * (g % 2) + l] |= uint8_t((code & 0x0f) << (4 * (g / 2)));
            block.high[32 * half + l] |= uint8_t((code >> 4) << (2 * g));
        }
    }
}

}  // namespace selfextend
