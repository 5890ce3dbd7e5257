#include "gguf/dtype.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstring>

#include "gguf/dequantize.h"

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

void quantize_f32(const float* src, void* dst, int64_t n) {
    std::memcpy(dst, src, size_t(n) * sizeof(float));
}

void quantize_f16(const float* src, void* dst, int64_t n) {
    auto* out = static_cast<uint8_t*>(dst);
    for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = float_to_half(src[i]);
        std::memcpy(out + 2 * i, &h, 2);
    }
}

void quantize_bf16(const float* src, void* dst, int64_t n) {
    auto* out = static_cast<uint8_t*>(dst);
    for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = float_to_bf16(src[i]);
        std::memcpy(out + 2 * i, &h, 2);
    }
}

// A typed block quantizer behind the table's untyped signature.
template <typename Block, void (*kQuantize)(const float*, Block*, int64_t)>
void quantize_blocks(const float* src, void* dst, int64_t n) {
    kQuantize(src, static_cast<Block*>(dst), n);
}

template <typename Block, void (*kDequantize)(const void*, float*, int64_t),
          void (*kQuantize)(const float*, Block*, int64_t)>
constexpr DTypeTraits block_type(DType type, std::string_view name, int64_t block_size) {
    return {type, name, block_size, sizeof(Block), kDequantize, quantize_blocks<Block, kQuantize>};
}

constexpr std::array kTable = {
    DTypeTraits{DType::F32, "F32", 1, 4, dequantize_f32, quantize_f32},
    DTypeTraits{DType::F16, "F16", 1, 2, dequantize_f16, quantize_f16},
    block_type<BlockQ4_0, dequantize_row_q4_0, quantize_row_q4_0>(DType::Q4_0, "Q4_0",
                                                                  kLegacyBlock),
    block_type<BlockQ4_1, dequantize_row_q4_1, quantize_row_q4_1>(DType::Q4_1, "Q4_1",
                                                                  kLegacyBlock),
    block_type<BlockQ5_0, dequantize_row_q5_0, quantize_row_q5_0>(DType::Q5_0, "Q5_0",
                                                                  kLegacyBlock),
    block_type<BlockQ5_1, dequantize_row_q5_1, quantize_row_q5_1>(DType::Q5_1, "Q5_1",
                                                                  kLegacyBlock),
    block_type<BlockQ8_0, dequantize_row_q8_0, quantize_row_q8_0>(DType::Q8_0, "Q8_0",
                                                                  kLegacyBlock),
    block_type<BlockQ2_K, dequantize_row_q2_k, quantize_row_q2_k>(DType::Q2_K, "Q2_K", kSuperBlock),
    block_type<BlockQ3_K, dequantize_row_q3_k, quantize_row_q3_k>(DType::Q3_K, "Q3_K", kSuperBlock),
    block_type<BlockQ4_K, dequantize_row_q4_k, quantize_row_q4_k>(DType::Q4_K, "Q4_K", kSuperBlock),
    block_type<BlockQ5_K, dequantize_row_q5_k, quantize_row_q5_k>(DType::Q5_K, "Q5_K", kSuperBlock),
    block_type<BlockQ6_K, dequantize_row_q6_k, quantize_row_q6_k>(DType::Q6_K, "Q6_K", kSuperBlock),
    DTypeTraits{DType::BF16, "BF16", 1, 2, dequantize_bf16, quantize_bf16},
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

const DTypeTraits* find_dtype_named(std::string_view name) {
    const auto upper = [](unsigned char c) { return std::toupper(c); };
    for (const auto& traits : kTable)
        if (std::ranges::equal(std::string_view(traits.name), name, {}, upper, upper))
            return &traits;
    return nullptr;
}

std::span<const DTypeTraits> supported_dtypes() {
    return kTable;
}

std::string supported_dtype_names() {
    std::string names;
    for (const auto& traits : kTable)
        names += (names.empty() ? "" : ", ") + std::string(traits.name);
    return names;
}

std::string gguf_type_name(uint32_t raw_type) {
    // The GGUF numbering, also of the types this engine does not compute with, for messages.
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

}  // namespace selfextend
