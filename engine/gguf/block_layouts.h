// The byte layouts of the quantized GGUF types, as stored in files (little-endian, no padding).
//
// Blocks of 32 values ("legacy" types): value k of a block is stored in the low nibble of q[k]
// and value k + 16 in the high nibble (k < 16); the fifth bit of value k, where there is one, is
// bit k of the 32-bit little-endian word `high_bits`.
//   Q4_0: d * (q - 8)     Q4_1: d * q + m     Q5_0: d * (q - 16)     Q5_1: d * q + m
//   Q8_0: d * q (q a signed byte)
//
// Super-blocks of 256 values ("k-quants"): sub-blocks of 16 or 32 values, each with its own
// small integer scale (and min) multiplied by the super-block's f16 scale (and min scale). The
// bit positions of each type are spelled out beside its struct.
#pragma once

#include <cstdint>
#include <cstring>

namespace selfextend {

inline constexpr int kQ8_0Block = 32;
inline constexpr int kQ4_0Block = 32;
inline constexpr int kLegacyBlock = 32;  // values per block of every legacy type
inline constexpr int kSuperBlock = 256;  // values per k-quant super-block

struct BlockQ8_0 {
    uint16_t scale;  // f16
    int8_t q[kQ8_0Block];
};

struct BlockQ4_0 {
    uint16_t scale;             // f16
    uint8_t q[kQ4_0Block / 2];  // value k in the low nibble of q[k], value k+16 in the high one
};

struct BlockQ4_1 {
    uint16_t scale;  // f16 d
    uint16_t min;    // f16 m
    uint8_t q[kLegacyBlock / 2];
};

struct BlockQ5_0 {
    uint16_t scale;  // f16 d
    uint8_t high_bits[4];
    uint8_t q[kLegacyBlock / 2];
};

struct BlockQ5_1 {
    uint16_t scale;  // f16 d
    uint16_t min;    // f16 m
    uint8_t high_bits[4];
    uint8_t q[kLegacyBlock / 2];
};

// Q2_K: value v = d * (scales[v/16] & 15) * q - dmin * (scales[v/16] >> 4), q the two bits at
// shift 2 * ((v % 128) / 32) of q[32 * (v / 128) + v % 32].
struct BlockQ2_K {
    uint8_t scales[kSuperBlock / 16];
    uint8_t q[kSuperBlock / 4];
    uint16_t scale;      // f16 d
    uint16_t min_scale;  // f16 dmin
};

// Q3_K: value v = d * (s - 32) * (q + 4 h - 4), q as in Q2_K, h bit v / 32 of high_bits[v % 32],
// s the 6-bit scale of sub-block v / 16 (see q3_k_scales).
struct BlockQ3_K {
    uint8_t high_bits[kSuperBlock / 8];
    uint8_t q[kSuperBlock / 4];
    uint8_t scales[12];
    uint16_t scale;  // f16 d
};

// Q4_K: value v = d * s * q - dmin * m, (s, m) the 6-bit scale and min of sub-block j = v / 32
// (see k_quant_scales_mins), q the low nibble of q[32 * (v / 64) + v % 32] when v % 64 < 32, else
// its high nibble.
struct BlockQ4_K {
    uint16_t scale;      // f16 d
    uint16_t min_scale;  // f16 dmin
    uint8_t scales[12];
    uint8_t q[kSuperBlock / 2];
};

// Q5_K: as Q4_K, plus 16 * (bit j of high_bits[v % 32]) on q, j = v / 32.
struct BlockQ5_K {
    uint16_t scale;      // f16 d
    uint16_t min_scale;  // f16 dmin
    uint8_t scales[12];
    uint8_t high_bits[kSuperBlock / 8];
    uint8_t q[kSuperBlock / 2];
};

// Q6_K: value v = d * scales[v/16] * (q - 32), q six bits: with g = (v % 128) / 32 and
// l = v % 32, the low four are a nibble of low[64 * (v / 128) + 32 * (g % 2) + l] (low nibble
// for g < 2, high for g >= 2), the high two are at shift 2 g of high[32 * (v / 128) + l].
struct BlockQ6_K {
    uint8_t low[kSuperBlock / 2];
    uint8_t high[kSuperBlock / 4];
    int8_t scales[kSuperBlock / 16];
    uint16_t scale;  // f16 d
};

static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20 &&
              sizeof(BlockQ5_0) == 22 && sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ2_K) == 84 && sizeof(BlockQ3_K) == 110 && sizeof(BlockQ4_K) == 144 &&
              sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210);

// The 6-bit scales and mins of the 8 sub-blocks of a Q4_K or Q5_K super-block: sub-blocks 0-3
// keep theirs in the low six bits of packed[j] (scale) and packed[j + 4] (min); sub-blocks 4-7
// keep the low four bits in the nibbles of packed[j + 4] (scale low, min high) and the high two
// in the top bits of packed[j - 4] (scale) and packed[j] (min). Decoded four bytes at a time.
struct KScalesMins {
    uint8_t scale[8];
    uint8_t min[8];
};
inline KScalesMins k_quant_scales_mins(const uint8_t* packed) {
    uint32_t w[3];
    std::memcpy(w, packed, sizeof w);  // little-endian: byte k is bits 8k..8k+7
    const uint32_t scales[2] = {w[0] & 0x3f3f3f3fu,
                                (w[2] & 0x0f0f0f0fu) | ((w[0] >> 2) & 0x30303030u)};
    const uint32_t mins[2] = {w[1] & 0x3f3f3f3fu,
                              ((w[2] >> 4) & 0x0f0f0f0fu) | ((w[1] >> 2) & 0x30303030u)};
    KScalesMins out;
    std::memcpy(out.scale, scales, sizeof scales);
    std::memcpy(out.min, mins, sizeof mins);
    return out;
}

// The 16 6-bit scales of a Q3_K super-block, before the -32: the low four bits of scale j are the
// low nibble of packed[j] (j < 8) or the high nibble of packed[j - 8], its high two bits are at
// shift 2 * (j / 4) of packed[8 + j % 4]. Decoded four bytes at a time.
inline void q3_k_scales(const uint8_t* packed, uint8_t (&out)[16]) {
    uint32_t w[3];
    std::memcpy(w, packed, sizeof w);
    const uint32_t scales[4] = {(w[0] & 0x0f0f0f0fu) | ((w[2] & 0x03030303u) << 4),
                                (w[1] & 0x0f0f0f0fu) | (((w[2] >> 2) & 0x03030303u) << 4),
                                ((w[0] >> 4) & 0x0f0f0f0fu) | (((w[2] >> 4) & 0x03030303u) << 4),
                                ((w[1] >> 4) & 0x0f0f0f0fu) | (((w[2] >> 6) & 0x03030303u) << 4)};
    std::memcpy(out, scales, sizeof scales);
}

}  // namespace selfextend
