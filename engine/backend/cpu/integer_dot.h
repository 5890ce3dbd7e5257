// Integer vectors for the quantized dot products, through the GCC/Clang vector extension: weight
// codes of one 32-value chunk widened to 16 bits and multiplied with 32 int16 activations into
// 16 int32 lanes (pmaddwd: AVX-512BW, AVX2, or SSE2 on any x86-64; a plain loop elsewhere).
// 16-bit activations rather than 8: the int8 rounding of mature engines moved SmolLM2's logits
// by 3.6e-2 of the largest (decode against float prefill), past the 3e-2 this engine holds to;
// 16 bits cost one widening per chunk and leave 7e-4 (tst_quantized_models).
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__SSE2__) || defined(__F16C__)
#include <immintrin.h>
#endif

#include "backend/cpu/simd.h"
#include "gguf/dtype.h"

namespace selfextend::cpu {
inline namespace SE_SIMD_ISA {  // see simd.h

typedef uint8_t u8x8 __attribute__((vector_size(8)));
typedef uint8_t u8x16 __attribute__((vector_size(16)));
typedef uint8_t u8x32 __attribute__((vector_size(32)));
typedef int8_t i8x32 __attribute__((vector_size(32)));
typedef int16_t i16x16 __attribute__((vector_size(32)));
typedef int16_t i16x32 __attribute__((vector_size(64)));
typedef int32_t i32x16 __attribute__((vector_size(64)));
typedef float f32x8 __attribute__((vector_size(32)));

template <typename Vector>
Vector load_vector(const void* p) {
    Vector v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

template <typename Vector>
void store_vector(void* p, Vector v) {
    std::memcpy(p, &v, sizeof v);
}

// Small integers (scales, mins) as floats. (GCC 12 converts byte vectors to float one lane at a
// time; the widening intrinsics take two instructions. Zero-masked forms: GCC 12 warns about the
// unmasked ones' undefined source.)
inline f32x8 to_floats(u8x8 v) {
#if defined(__AVX2__)
    __m128i bytes = _mm_setzero_si128();
    std::memcpy(&bytes, &v, sizeof v);
    return f32x8(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)));
#else
    return __builtin_convertvector(v, f32x8);
#endif
}
inline f32x16 to_floats(u8x16 v) {
#if defined(__AVX512F__)
    return f32x16(_mm512_maskz_cvtepi32_ps(0xffff, _mm512_maskz_cvtepu8_epi32(0xffff, __m128i(v))));
#else
    return __builtin_convertvector(v, f32x16);
#endif
}
inline f32x16 to_floats(i8x16 v) {
#if defined(__AVX512F__)
    return f32x16(_mm512_maskz_cvtepi32_ps(0xffff, _mm512_maskz_cvtepi8_epi32(0xffff, __m128i(v))));
#else
    return __builtin_convertvector(v, f32x16);
#endif
}

// 16 bytes of packed nibbles as 32 codes of 16 bits: the low nibbles (values 0-15 of a legacy
// block) first, then the high ones (values 16-31).
inline i16x32 unpack_nibbles(const uint8_t* packed) {
    // (GCC 12 widens a 16-byte vector in two halves; the intrinsic is one instruction.)
#if defined(__AVX2__)
    const i16x16 wide =
        i16x16(_mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(packed))));
#else
    const i16x16 wide = __builtin_convertvector(load_vector<u8x16>(packed), i16x16);
#endif
#if defined(__AVX512BW__)
    // (The masked insert: GCC 12 warns about the unmasked one's undefined source.)
    const __m512i low = _mm512_castsi256_si512(__m256i(wide & 0x0f));
    return i16x32(_mm512_mask_inserti64x4(low, 0xff, low, __m256i(wide >> 4), 1));
#else
    return __builtin_shufflevector(wide & 0x0f, wide >> 4, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                                   13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
                                   29, 30, 31);
#endif
}

// Lane k is `value` where bit k of bits is set, else 0.
inline i16x32 bits_to_lanes(uint32_t bits, int16_t value) {
#if defined(__AVX512BW__)
    const __m512i v = _mm512_maskz_set1_epi16(bits, value);
    i16x32 r;
    std::memcpy(&r, &v, sizeof r);
    return r;
#else
    const i32x16 word = i32x16{} + int32_t(bits);
    const i32x16 shifts = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    const i16x16 low = __builtin_convertvector((word >> shifts) & 1, i16x16);
    const i16x16 high = __builtin_convertvector((word >> (shifts + 16)) & 1, i16x16);
    return __builtin_shufflevector(low, high, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                   16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31) *
           value;
#endif
}

// Byte vectors shifted through 16-bit lanes (x86 has no byte shifts): bits cross into the
// neighbouring byte, so callers mask them off, before shifting up or after shifting down.
// (u16x16: simd.h.)
inline u8x32 bits_up(u8x32 v, int n) {
    return u8x32(u16x16(v) << n);
}
inline u8x32 bits_down(u8x32 v, int n) {
    return u8x32(u16x16(v) >> n);
}

// `value` in the bytes of v whose bit `mask` is set, else 0.
inline u8x32 select_bit(u8x32 v, uint8_t mask, uint8_t value) {
    return u8x32((v & mask) != 0) & value;
}

// Products of 32 int16 codes with 32 int16 activations, summed in pairs: lane i holds
// codes[2i] x[2i] + codes[2i+1] x[2i+1] (exact: |code| <= 255, |x| <= 32767).
inline i32x16 dot_pairs(i16x32 codes, i16x32 x) {
#if defined(__AVX512BW__)
    return i32x16(_mm512_madd_epi16(__m512i(codes), __m512i(x)));
#elif defined(__AVX2__)
    __m256i c[2], v[2], s[2];
    std::memcpy(c, &codes, sizeof c);
    std::memcpy(v, &x, sizeof v);
    for (int k = 0; k < 2; ++k) s[k] = _mm256_madd_epi16(c[k], v[k]);
    i32x16 sums;
    std::memcpy(&sums, s, sizeof sums);
    return sums;
#elif defined(__SSE2__)
    __m128i c[4], v[4], s[4];
    std::memcpy(c, &codes, sizeof c);
    std::memcpy(v, &x, sizeof v);
    for (int k = 0; k < 4; ++k) s[k] = _mm_madd_epi16(c[k], v[k]);
    i32x16 sums;
    std::memcpy(&sums, s, sizeof sums);
    return sums;
#else
    i32x16 sums{};
    for (int k = 0; k < 32; ++k) sums[k / 2] += int32_t(codes[k]) * int32_t(x[k]);
    return sums;
#endif
}

// acc + dot_pairs(a, b): one instruction with AVX512-VNNI (vpdpwssd).
inline i32x16 add_dot_pairs(i32x16 acc, i16x32 a, i16x32 b) {
#if defined(__AVX512VNNI__)
    return i32x16(_mm512_dpwssd_epi32(__m512i(acc), __m512i(a), __m512i(b)));
#else
    return acc + dot_pairs(a, b);
#endif
}

// 32 byte codes as 16-bit lanes.
inline i16x32 widen(u8x32 codes) {
#if defined(__AVX512BW__)  // (one instruction; GCC 12 makes four of the generic one)
    return i16x32(_mm512_cvtepu8_epi16(__m256i(codes)));
#else
    return __builtin_convertvector(codes, i16x32);
#endif
}

// 32 signed byte codes as 16-bit lanes.
inline i16x32 widen(i8x32 codes) {
#if defined(__AVX512BW__)
    return i16x32(_mm512_cvtepi8_epi16(__m256i(codes)));
#else
    return __builtin_convertvector(codes, i16x32);
#endif
}

// Lanes 0-15 a, lanes 16-31 b.
inline i16x32 halves(int16_t a, int16_t b) {
#if defined(__AVX512BW__)
    return i16x32(_mm512_mask_blend_epi16(0xffff0000u, _mm512_set1_epi16(a), _mm512_set1_epi16(b)));
#else
    const i16x16 low = i16x16{} + a, high = i16x16{} + b;
    return __builtin_shufflevector(low, high, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                   16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31);
#endif
}

inline f32x16 to_floats(i32x16 v) {
    return __builtin_convertvector(v, f32x16);
}

// A chunk of 32 codes (0..255, or signed bytes) against 32 int16 activations, as floats in 16
// lanes: lanes 0-7 cover values 0-15, lanes 8-15 values 16-31.
inline f32x16 chunk_dot(i16x32 codes, const int16_t* x) {
    return __builtin_convertvector(dot_pairs(codes, load_vector<i16x32>(x)), f32x16);
}
inline f32x16 chunk_dot(u8x32 codes, const int16_t* x) {
    return chunk_dot(widen(codes), x);
}
inline f32x16 chunk_dot(i8x32 codes, const int16_t* x) {
    return chunk_dot(widen(codes), x);
}

inline float sum_lanes(f32x8 v) {
    const auto half =
        __builtin_shufflevector(v, v, 0, 1, 2, 3) + __builtin_shufflevector(v, v, 4, 5, 6, 7);
    return (half[0] + half[2]) + (half[1] + half[3]);
}

inline float sum_lanes(f32x16 v) {
    return sum_lanes(f32x8(__builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
                           __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15)));
}

// The codes of a k-quant super-block, 8 chunks of 32 values in order (gguf/block_layouts.h).
// Q4_K: 0..15 (the low nibbles of 32 bytes are chunk 2p, the high ones chunk 2p + 1).
inline void q4_k_codes(const BlockQ4_K& block, u8x32 (&out)[kSuperBlock / 32]) {
    for (int pair = 0; pair < kSuperBlock / 64; ++pair) {
        const u8x32 packed = load_vector<u8x32>(block.q + 32 * pair);
        out[2 * pair] = packed & 0x0f;
        out[2 * pair + 1] = bits_down(packed, 4) & 0x0f;
    }
}

// Q6_K: 0..63, for -32..31.
inline void q6_k_codes(const BlockQ6_K& block, u8x32 (&out)[kSuperBlock / 32]) {
    for (int half = 0; half < 2; ++half) {
        const u8x32 low0 = load_vector<u8x32>(block.low + 64 * half);
        const u8x32 low1 = load_vector<u8x32>(block.low + 64 * half + 32);
        const u8x32 high = load_vector<u8x32>(block.high + 32 * half);
        out[4 * half + 0] = (low0 & 0x0f) | bits_up(high & 0x03, 4);
        out[4 * half + 1] = (low1 & 0x0f) | bits_up(high & 0x0c, 2);
        out[4 * half + 2] = (bits_down(low0, 4) & 0x0f) | (high & 0x30);
        out[4 * half + 3] = (bits_down(low1, 4) & 0x0f) | bits_down(high & 0xc0, 2);
    }
}

// An f16 scale, through the hardware conversion where there is one.
inline float half_value(uint16_t h) {
#if defined(__F16C__)
    return _cvtsh_ss(h);
#else
    return half_to_float(h);
#endif
}

}  // namespace SE_SIMD_ISA
}  // namespace selfextend::cpu
