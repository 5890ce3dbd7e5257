#include "gguf/dequantize.h"

#include <cstring>

#include "gguf/dtype.h"

namespace selfextend {

namespace {

constexpr int kHalf = kLegacyBlock / 2;

// The fifth bits of a Q5 block, value k's at bit k.
uint32_t high_bits_of(const uint8_t (&bytes)[4]) {
    return uint32_t(bytes[0]) | uint32_t(bytes[1]) << 8 | uint32_t(bytes[2]) << 16 |
           uint32_t(bytes[3]) << 24;
}

// The 5-bit codes of a Q5 block.
void q5_codes(const uint8_t* q, uint32_t high, int* codes) {
    for (int k = 0; k < kHalf; ++k) {
        codes[k] = (q[k] & 0x0f) | int((high >> k) & 1) << 4;
        codes[k + kHalf] = (q[k] >> 4) | int((high >> (k + kHalf)) & 1) << 4;
    }
}

}  // namespace

void dequantize_row_q8_0(const void* src, float* dst, int64_t n) {
    const auto* blocks = static_cast<const BlockQ8_0*>(src);
    for (int64_t b = 0; b < n / kQ8_0Block; ++b) {
        const float scale = half_to_float(blocks[b].scale);
        for (int k = 0; k < kQ8_0Block; ++k)
            dst[b * kQ8_0Block + k] = scale * float(blocks[b].q[k]);
    }
}

void dequantize_row_q4_0(const void* src, float* dst, int64_t n) {
    const auto* blocks = static_cast<const BlockQ4_0*>(src);
    for (int64_t b = 0; b < n / kQ4_0Block; ++b) {
        const float scale = half_to_float(blocks[b].scale);
        float* out = dst + b * kQ4_0Block;
        for (int k = 0; k < kHalf; ++k) {
            out[k] = scale * float(int(blocks[b].q[k] & 0x0f) - 8);
            out[k + kHalf] = scale * float(int(blocks[b].q[k] >> 4) - 8);
        }
    }
}

void dequantize_row_q4_1(const void* src, float* dst, int64_t n) {
    const auto* blocks = static_cast<const BlockQ4_1*>(src);
    for (int64_t b = 0; b < n / kLegacyBlock; ++b) {
        const float scale = half_to_float(blocks[b].scale);
        const float min = half_to_float(blocks[b].min);
        float* out = dst + b * kLegacyBlock;
        for (int k = 0; k < kHalf; ++k) {
            out[k] = scale * float(blocks[b].q[k] & 0x0f) + min;
            out[k + kHalf] = scale * float(blocks[b].q[k] >> 4) + min;
        }
    }
}

void dequantize_row_q5_0(const void* src, float* dst, int64_t n) {
    const auto* blocks = static_cast<const BlockQ5_0*>(src);
    int codes[kLegacyBlock];
    for (int64_t b = 0; b < n / kLegacyBlock; ++b) {
        const float scale = half_to_float(blocks[b].scale);
        q5_codes(blocks[b].q, high_bits_of(blocks[b].high_bits), codes);
        for (int k = 0; k < kLegacyBlock; ++k)
            dst[b * kLegacyBlock + k] = scale * float(codes[k] - 16);
    }
}

void dequantize_row_q5_1(const void* src, float* dst, int64_t n) {
    const auto* blocks = static_cast<const BlockQ5_1*>(src);
    int codes[kLegacyBlock];
    for (int64_t b = 0; b < n / kLegacyBlock; ++b) {
        const float scale = half_to_float(blocks[b].scale);
        const float min = half_to_float(blocks[b].min);
        q5_codes(blocks[b].q, high_bits_of(blocks[b].high_bits), codes);
        for (int k = 0; k < kLegacyBlock; ++k)
            dst[b * kLegacyBlock + k] = scale * float(codes[k]) + min;
    }
}

void dequantize_row_q2_k(const void* src, float* dst, int64_t n) {
    const auto* blocks = static_cast<const BlockQ2_K*>(src);
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        const BlockQ2_K& block = blocks[b];
        const float d = half_to_float(block.scale);
        const float dmin = half_to_float(block.min_scale);
        // Runs of 16 values (v = 128 half + 32 g + l) share a scale/min byte and a bit field.
        for (int run = 0; run < kSuperBlock / 16; ++run) {
            const int half = run / 8, g = (run % 8) / 2, l0 = 16 * (run % 2);
            const uint8_t* q = block.q + 32 * half + l0;
            const int shift = 2 * g, packed = block.scales[run];
            const float scale = d * float(packed & 0x0f), min = dmin * float(packed >> 4);
            float* out = dst + b * kSuperBlock + 16 * run;
            for (int l = 0; l < 16; ++l) out[l] = scale * float((q[l] >> shift) & 3) - min;
        }
    }
}

void dequantize_row_q3_k(const void* src, float* dst, int64_t n) {
    const auto* blocks = static_cast<const BlockQ3_K*>(src);
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        const BlockQ3_K& block = blocks[b];
        const float d = half_to_float(block.scale);
        uint8_t packed[kSuperBlock / 16];
        q3_k_scales(block.scales, packed);
        // Runs of 16 values (v = 128 half + 32 g + l) share a scale and bit positions.
        for (int run = 0; run < kSuperBlock / 16; ++run) {
            const int half = run / 8, g = (run % 8) / 2, l0 = 16 * (run % 2);
            const uint8_t* q = block.q + 32 * half + l0;
            const uint8_t* high_bits = block.high_bits + l0;
            const int shift = 2 * g, high_shift = 4 * half + g;  // v / 32
            const float scale = d * float(packed[run] - 32);
            float* out = dst + b * kSuperBlock + 16 * run;
            for (int l = 0; l < 16; ++l) {
                const int low = (q[l] >> shift) & 3, high = (high_bits[l] >> high_shift) & 1;
                out[l] = scale * float(low + 4 * high - 4);
            }
        }
    }
}

void dequantize_row_q4_k(const void* src, float* dst, int64_t n) {
    const auto* blocks = static_cast<const BlockQ4_K*>(src);
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        const BlockQ4_K& block = blocks[b];
        const float d = half_to_float(block.scale);
        const float dmin = half_to_float(block.min_scale);
        float* out = dst + b * kSuperBlock;
        const KScalesMins sm = k_quant_scales_mins(block.scales);
        for (int j = 0; j < kSuperBlock / 32; ++j) {
            const float scale = d * float(sm.scale[j]), min = dmin * float(sm.min[j]);
            const uint8_t* q = block.q + 32 * (j / 2);
            const int shift = 4 * (j % 2);
            for (int l = 0; l < 32; ++l)
                out[32 * j + l] = scale * float((q[l] >> shift) & 0x0f) - min;
        }
    }
}

void dequantize_row_q5_k(const void* src, float* dst, int64_t n) {
    const auto* blocks = static_cast<const BlockQ5_K*>(src);
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        const BlockQ5_K& block = blocks[b];
        const float d = half_to_float(block.scale);
        const float dmin = half_to_float(block.min_scale);
        float* out = dst + b * kSuperBlock;
        const KScalesMins sm = k_quant_scales_mins(block.scales);
        for (int j = 0; j < kSuperBlock / 32; ++j) {
            const float scale = d * float(sm.scale[j]), min = dmin * float(sm.min[j]);
            const uint8_t* q = block.q + 32 * (j / 2);
            const int shift = 4 * (j % 2);
            for (int l = 0; l < 32; ++l) {
                const int code = ((q[l] >> shift) & 0x0f) | ((block.high_bits[l] >> j) & 1) << 4;
                out[32 * j + l] = scale * float(code) - min;
            }
        }
    }
}

void dequantize_row_q6_k(const void* src, float* dst, int64_t n) {
    const auto* blocks = static_cast<const BlockQ6_K*>(src);
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        const BlockQ6_K& block = blocks[b];
        const float d = half_to_float(block.scale);
        // Value v = 128 half + 32 g + l: runs of 16 consecutive values share a scale, bit fields
        // and byte offsets, so each run is one straight loop the compiler vectorises (prefill
        // dequantizes every weight row once per chunk).
        for (int run = 0; run < kSuperBlock / 16; ++run) {
            const int half = run / 8, g = (run % 8) / 2, l0 = 16 * (run % 2);
            const uint8_t* low = block.low + 64 * half + 32 * (g % 2) + l0;
            const uint8_t* high = block.high + 32 * half + l0;
            const int low_shift = 4 * (g / 2), high_shift = 2 * g;
            const float scale = d * float(block.scales[run]);
            float* out = dst + b * kSuperBlock + 16 * run;
            for (int l = 0; l < 16; ++l) {
                const int code = ((low[l] >> low_shift) & 0x0f) | ((high[l] >> high_shift) & 3)
                                                                      << 4;
                out[l] = scale * float(code - 32);
            }
        }
    }
}

}  // namespace selfextend
