#include "gguf/dtype.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>

namespace selfextend {

float half_to_float(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000) << 16;
    const uint32_t exponent = (h >> 10) & 0x1f;
    const uint32_t mantissa = h & 0x3ff;
    if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24
        const float magnitude = std::ldexp(float(mantissa), -24);
        return sign ? -magnitude : magnitude;
    }
    if (exponent == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
    return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

uint16_t float_to_half(float f) {
    // Round to nearest even, with overflow to infinity and gradual underflow.
    const uint32_t x = std::bit_cast<uint32_t>(f);
    const uint16_t sign = uint16_t((x >> 16) & 0x8000);
    const uint32_t abs = x & 0x7fffffff;
    if (abs >= 0x7f800000u) return uint16_t(sign | 0x7c00 | (abs > 0x7f800000u ? 0x200 : 0));
    if (abs >= 0x477ff000u) return uint16_t(sign | 0x7c00);  // rounds past 65504
    if (abs < 0x38800000u) {                                 // below the smallest normal half
        const float magnitude = std::bit_cast<float>(abs);
        return uint16_t(sign | uint16_t(std::nearbyint(magnitude * 16777216.0f)));
    }
    const uint32_t rounded = abs + 0xfff + ((abs >> 13) & 1);
    return uint16_t(sign | ((rounded - (112u << 23)) >> 13));
}

float bf16_to_float(uint16_t h) {
    return std::bit_cast<float>(uint32_t(h) << 16);
}

uint16_t float_to_bf16(float f) {
    const uint32_t x = std::bit_cast<uint32_t>(f);
    if ((x & 0x7fffffff) > 0x7f800000u) return uint16_t((x >> 16) | 0x40);  // quiet NaN
    return uint16_t((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

namespace {

void dequantize_f32(const void* src, float* dst, int64_t n) {
    std::memcpy(dst, src, size_t(n) * sizeof(float));
}

void dequantize_f16(const void* src, float* dst, int64_t n) {
    const auto* h = static_cast<const uint16_t*>(src);
    for (int64_t i = 0; i < n; ++i) dst[i] = half_to_float(h[i]);
}

void dequantize_bf16(const void* src, float* dst, int64_t n) {
    const auto* h = static_cast<const uint16_t*>(src);
    for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_float(h[i]);
}

void dequantize_q8_0(const void* src, float* dst, int64_t n) {
    const auto* blocks = static_cast<const BlockQ8_0*>(src);
    for (int64_t b = 0; b < n / kQ8_0Block; ++b) {
        const float scale = half_to_float(blocks[b].scale);
        for (int k = 0; k < kQ8_0Block; ++k)
            dst[b * kQ8_0Block + k] = scale * float(blocks[b].q[k]);
    }
}

void dequantize_q4_0(const void* src, float* dst, int64_t n) {
    const auto* blocks = static_cast<const BlockQ4_0*>(src);
    constexpr int half = kQ4_0Block / 2;
    for (int64_t b = 0; b < n / kQ4_0Block; ++b) {
        const float scale = half_to_float(blocks[b].scale);
        float* out = dst + b * kQ4_0Block;
        for (int k = 0; k < half; ++k) {
            out[k] = scale * float(int(blocks[b].q[k] & 0x0f) - 8);
            out[k + half] = scale * float(int(blocks[b].q[k] >> 4) - 8);
        }
    }
}

constexpr std::array kTable = {
    DTypeTraits{DType::F32, "F32", 1, 4, dequantize_f32},
    DTypeTraits{DType::F16, "F16", 1, 2, dequantize_f16},
    DTypeTraits{DType::Q4_0, "Q4_0", kQ4_0Block, sizeof(BlockQ4_0), dequantize_q4_0},
    DTypeTraits{DType::Q8_0, "Q8_0", kQ8_0Block, sizeof(BlockQ8_0), dequantize_q8_0},
    DTypeTraits{DType::BF16, "BF16", 1, 2, dequantize_bf16},
};

}  // namespace

const DTypeTraits* find_dtype(uint32_t raw_type) {
    for (const auto& traits : kTable)
        if (uint32_t(traits.type) == raw_type) return &traits;
    return nullptr;
}

const DTypeTraits& dtype_traits(DType type) {
    return *find_dtype(uint32_t(type));
}

std::string gguf_type_name(uint32_t raw_type) {
    // Names of the GGUF types this engine does not (yet) compute with, for error messages.
    static constexpr std::array<std::string_view, 31> kNames = {
        "F32",     "F16",    "Q4_0",    "Q4_1",  "type 4", "type 5", "Q5_0",  "Q5_1",
        "Q8_0",    "Q8_1",   "Q2_K",    "Q3_K",  "Q4_K",   "Q5_K",   "Q6_K",  "Q8_K",
        "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S",  "IQ2_S", "IQ4_XS",
        "I8",      "I16",    "I32",     "I64",   "F64",    "IQ1_M",  "BF16"};
    if (raw_type < kNames.size() && kNames[raw_type].rfind("type ", 0) != 0)
        return std::string(kNames[raw_type]);
    return "type " + std::to_string(raw_type);
}

int64_t row_bytes(const DTypeTraits& traits, int64_t n) {
    int64_t bytes = 0;
    if (n < 0 || n % traits.block_size != 0 ||
        __builtin_mul_overflow(n / traits.block_size, traits.bytes_per_block, &bytes))
        return -1;
    return bytes;
}

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
    constexpr int half = kQ4_0Block / 2;
    for (int64_t b = 0; b < n / kQ4_0Block; ++b) {
        const float* x = src + b * kQ4_0Block;
        float extreme = 0;  // the value of largest magnitude, sign kept, maps to -8
        for (int k = 0; k < kQ4_0Block; ++k)
            if (std::fabs(x[k]) > std::fabs(extreme)) extreme = x[k];
        const float scale = extreme / -8.0f;
        const float inverse = scale != 0 ? 1.0f / scale : 0.0f;
        dst[b].scale = float_to_half(scale);
        auto code = [&](float v) {
            return uint8_t(std::clamp(int(std::lround(v * inverse)) + 8, 0, 15));
        };
        for (int k = 0; k < half; ++k) dst[b].q[k] = uint8_t(code(x[k]) | (code(x[k + half]) << 4));
    }
}

}  // namespace selfextend
