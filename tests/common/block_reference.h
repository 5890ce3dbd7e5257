// Float64 decoders of the quantized GGUF block layouts, written here from the format's
// description (ggml's block_q*_0/1 and block_q*_K structs), reading raw little-endian bytes at
// their offsets: an implementation independent of the engine's, for tst_dtype and tst_matmul.
//
// Blocks of 32 (value k; the nibble of k is the low one of byte k, the high one of byte k - 16):
//   Q4_0 {f16 d; u8 qs[16]}                  d * (nibble - 8)
//   Q4_1 {f16 d; f16 m; u8 qs[16]}           d * nibble + m
//   Q5_0 {f16 d; u32 qh; u8 qs[16]}          d * (nibble + 16 * bit k of qh - 16)
//   Q5_1 {f16 d; f16 m; u32 qh; u8 qs[16]}   d * (nibble + 16 * bit k of qh) + m
//   Q8_0 {f16 d; i8 qs[32]}                  d * qs[k]
// Super-blocks of 256 (value v):
//   Q2_K {u8 scales[16]; u8 qs[64]; f16 d; f16 dmin}
//   Q3_K {u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d}
//   Q4_K {f16 d; f16 dmin; u8 scales[12]; u8 qs[128]}
//   Q5_K {f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}
//   Q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace testing {

// binary16 from its bit fields: 1 sign, 5 exponent (bias 15), 10 mantissa bits.
inline double f16_value(uint16_t h) {
    const int sign = h >> 15, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    double v;
    if (exponent == 0)
        v = std::ldexp(double(mantissa), -24);
    else if (exponent == 31)
        v = mantissa ? std::numeric_limits<double>::quiet_NaN()
                     : std::numeric_limits<double>::infinity();
    else
        v = std::ldexp(double(1024 + mantissa), exponent - 25);
    return sign ? -v : v;
}

inline uint16_t read_u16(const uint8_t* p) {
    return uint16_t(p[0] | p[1] << 8);
}

inline double read_f16(const uint8_t* p) {
    return f16_value(read_u16(p));
}

struct BlockFormat {
    uint32_t type;  // GGUF number
    const char* name;
    int values;
    int bytes;
};

inline constexpr BlockFormat kBlockFormats[] = {
    {2, "Q4_0", 32, 18},    {3, "Q4_1", 32, 20},    {6, "Q5_0", 32, 22},    {7, "Q5_1", 32, 24},
    {8, "Q8_0", 32, 34},    {10, "Q2_K", 256, 84},  {11, "Q3_K", 256, 110}, {12, "Q4_K", 256, 144},
    {13, "Q5_K", 256, 176}, {14, "Q6_K", 256, 210},
};

inline const BlockFormat* block_format(uint32_t type) {
    for (const BlockFormat& f : kBlockFormats)
        if (f.type == type) return &f;
    return nullptr;
}

// Where each byte-field of a block starts, per layout.
namespace layout {
// Legacy types: the nibble of value k.
inline int nibble(const uint8_t* qs, int k) {
    return k < 16 ? qs[k] & 0x0f : qs[k - 16] >> 4;
}
inline int bit_of_word(const uint8_t* word, int k) {
    return (word[k / 8] >> (k % 8)) & 1;
}
// Q4_K / Q5_K: the 6-bit scale and min of sub-block j, from the 12 packed bytes.
inline void scale_min_k(const uint8_t* s, int j, int& scale, int& min) {
    if (j < 4) {
        scale = s[j] & 63;
        min = s[j + 4] & 63;
    } else {
        scale = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
        min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}
// Q3_K: the 6-bit scale of sub-block j (before subtracting 32).
inline int scale_q3_k(const uint8_t* s, int j) {
    const int low = j < 8 ? s[j] & 15 : s[j - 8] >> 4;
    return low | ((s[8 + j % 4] >> (2 * (j / 4))) & 3) << 4;
}
// Q2_K / Q3_K: the two low bits of value v.
inline int two_bits(const uint8_t* qs, int v) {
    return (qs[32 * (v / 128) + v % 32] >> (2 * ((v % 128) / 32))) & 3;
}
}  // namespace layout

// The exact value of element k of the block at p.
inline double reference_value(uint32_t type, const uint8_t* p, int k) {
    using namespace layout;
    switch (type) {
        case 2:  // Q4_0
            return read_f16(p) * (nibble(p + 2, k) - 8);
        case 3:  // Q4_1
            return read_f16(p) * nibble(p + 4, k) + read_f16(p + 2);
        case 6:  // Q5_0
            return read_f16(p) * (nibble(p + 6, k) + 16 * bit_of_word(p + 2, k) - 16);
        case 7:  // Q5_1
            return read_f16(p) * (nibble(p + 8, k) + 16 * bit_of_word(p + 4, k)) + read_f16(p + 2);
        case 8:  // Q8_0
            return read_f16(p) * int8_t(p[2 + k]);
        case 10: {  // Q2_K
            const int s = p[k / 16];
            return read_f16(p + 80) * (s & 15) * two_bits(p + 16, k) - read_f16(p + 82) * (s >> 4);
        }
        case 11: {  // Q3_K
            const int high = (p[k % 32] >> (k / 32)) & 1;
            return read_f16(p + 108) * (scale_q3_k(p + 96, k / 16) - 32) *
                   (two_bits(p + 32, k) + 4 * high - 4);
        }
        case 12:    // Q4_K
        case 13: {  // Q5_K
            int scale, min;
            scale_min_k(p + 4, k / 32, scale, min);
            const uint8_t* qs = p + (type == 12 ? 16 : 48);
            int q = (qs[32 * (k / 64) + k % 32] >> (4 * ((k / 32) % 2))) & 15;
            if (type == 13) q += 16 * ((p[16 + k % 32] >> (k / 32)) & 1);
            return read_f16(p) * scale * q - read_f16(p + 2) * min;
        }
        case 14: {  // Q6_K
            const int half = k / 128, g = (k % 128) / 32, l = k % 32;
            const int low = (p[64 * half + 32 * (g % 2) + l] >> (4 * (g / 2))) & 15;
            const int high = (p[128 + 32 * half + l] >> (2 * g)) & 3;
            return read_f16(p + 208) * int8_t(p[192 + k / 16]) * ((low | high << 4) - 32);
        }
    }
    return std::numeric_limits<double>::quiet_NaN();
}

// n values (whole blocks) of a quantized row.
inline std::vector<double> reference_dequantize(uint32_t type, const uint8_t* data, int64_t n) {
    const BlockFormat& f = *block_format(type);
    std::vector<double> out(static_cast<size_t>(n));
    for (int64_t v = 0; v < n; ++v)
        out[size_t(v)] = reference_value(type, data + (v / f.values) * f.bytes, int(v % f.values));
    return out;
}

// The f16 scale fields of a block (offsets of d, and of m / dmin where the type has one), so tests
// can make random blocks with finite scales.
inline std::vector<int> f16_fields(uint32_t type) {
    switch (type) {
        case 2:
        case 6:
        case 8:
            return {0};
        case 3:
        case 7:
        case 12:
        case 13:
            return {0, 2};
        case 10:
            return {80, 82};
        case 11:
            return {108};
        case 14:
            return {208};
    }
    return {};
}

}  // namespace testing
