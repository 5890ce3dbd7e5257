// Portable SIMD through the GCC/Clang vector extension: with -march=native the compiler maps
// these to AVX-512/AVX2 registers, in a portable build to SSE pairs. No intrinsics needed.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__AVX512F__) || defined(__F16C__)
#include <immintrin.h>
#endif

// Everything in these SIMD headers (simd.h, kv_row.h, vector_math.h, integer_dot.h) compiles to
// different code, and passes 64-byte vectors in different registers, with and without AVX-512
// (or F16C, FMA, AVX-512 FP16). Files built with -march=native include them beside files built
// without, so their inline functions live in an inline namespace named after the instruction
// set: each build of a helper is a different symbol, never merged across files by the linker
// with another's calling convention (which is what the psabi warning, silenced in
// engine/CMakeLists.txt, is about).
#if defined(__AVX512F__) && defined(__AVX512FP16__)
#define SE_SIMD_ISA isa_avx512fp16
#elif defined(__AVX512F__)
#define SE_SIMD_ISA isa_avx512
#elif defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define SE_SIMD_ISA isa_avx2
#elif defined(__AVX__)
#define SE_SIMD_ISA isa_avx
#else
#define SE_SIMD_ISA isa_baseline
#endif

namespace selfextend::cpu {
inline namespace SE_SIMD_ISA {

inline constexpr int kLanes = 16;
typedef float f32x16 __attribute__((vector_size(kLanes * sizeof(float))));
typedef _Float16 f16x16 __attribute__((vector_size(kLanes * sizeof(_Float16))));
typedef int8_t i8x16 __attribute__((vector_size(kLanes)));
typedef uint16_t u16x16 __attribute__((vector_size(kLanes * sizeof(uint16_t))));
typedef uint32_t u32x16 __attribute__((vector_size(kLanes * sizeof(uint32_t))));

// The target's own register width, for kernels that keep many accumulators in registers
// (16 lanes with AVX-512, 8 with AVX, 4 with SSE).
#if defined(__AVX512F__)
inline constexpr int kNativeLanes = 16;
#elif defined(__AVX__)
inline constexpr int kNativeLanes = 8;
#else
inline constexpr int kNativeLanes = 4;
#endif
typedef float f32xN __attribute__((vector_size(kNativeLanes * sizeof(float))));

inline f32xN loadN(const float* p) {
    f32xN v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

inline void storeN(float* p, f32xN v) {
    std::memcpy(p, &v, sizeof v);
}

inline f32x16 load16(const float* p) {
    f32x16 v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

inline void store16(float* p, f32x16 v) {
    std::memcpy(p, &v, sizeof v);
}

inline f32x16 splat16(float x) {
    return f32x16{} + x;
}

// Sixteen IEEE halves to floats. GCC 12 lowers a generic _Float16 vector conversion to scalar
// instructions, so use the F16C/AVX-512 conversion where the target has it.
inline f32x16 load16_f16(const void* p) {
#if defined(__AVX512F__)
    // (the zero-masked form: GCC 12 warns about the unmasked one's undefined source)
    const __m512 wide =
        _mm512_maskz_cvtph_ps(0xffff, _mm256_loadu_si256(static_cast<const __m256i*>(p)));
    f32x16 v;
    std::memcpy(&v, &wide, sizeof v);
    return v;
#elif defined(__F16C__)
    const __m256 low = _mm256_cvtph_ps(_mm_loadu_si128(static_cast<const __m128i*>(p)));
    const __m256 high = _mm256_cvtph_ps(_mm_loadu_si128(static_cast<const __m128i*>(p) + 1));
    f32x16 v;
    std::memcpy(&v, &low, sizeof low);
    std::memcpy(reinterpret_cast<char*>(&v) + sizeof low, &high, sizeof high);
    return v;
#else
    // Without F16C GCC converts _Float16 through a library call per value: do it with integer
    // vector operations instead (sign, exponent rebias, infinities/NaN, subnormals).
    u16x16 h;
    std::memcpy(&h, p, sizeof h);
    const u32x16 x = __builtin_convertvector(h, u32x16);
    const u32x16 sign = (x & 0x8000u) << 16;
    u32x16 bits = (x & 0x7fffu) << 13;
    const u32x16 exponent = bits & (0x7c00u << 13);
    bits += (127u - 15u) << 23;
    bits = exponent == (0x7c00u << 13) ? bits + ((128u - 16u) << 23) : bits;  // Inf and NaN
    f32x16 subnormal;
    const u32x16 renormalised = bits + (1u << 23);
    std::memcpy(&subnormal, &renormalised, sizeof subnormal);
    subnormal -= 6.103515625e-05f;  // 2^-14
    u32x16 subnormal_bits;
    std::memcpy(&subnormal_bits, &subnormal, sizeof subnormal_bits);
    bits = exponent == 0 ? subnormal_bits : bits;
    bits |= sign;
    f32x16 v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
#endif
}

inline f32x16 load16_bf16(const void* p) {
    u16x16 h;
    std::memcpy(&h, p, sizeof h);
    const u32x16 wide = __builtin_convertvector(h, u32x16) << 16;
    f32x16 v;
    std::memcpy(&v, &wide, sizeof v);
    return v;
}

inline f32x16 load16_i8(const int8_t* p) {
    i8x16 q;
    std::memcpy(&q, p, sizeof q);
    return __builtin_convertvector(q, f32x16);
}

inline float reduce_add(f32x16 v) {
    float sum = 0;
    for (int k = 0; k < kLanes; ++k) sum += v[k];
    return sum;
}

inline float reduce_max(f32x16 v) {
    float m = v[0];
    for (int k = 1; k < kLanes; ++k) m = v[k] > m ? v[k] : m;
    return m;
}

// Dot product of two float arrays of n values, n a multiple of 16.
inline float dot16(const float* a, const float* b, int64_t n) {
    f32x16 acc{};
    for (int64_t k = 0; k < n; k += kLanes) acc += load16(a + k) * load16(b + k);
    return reduce_add(acc);
}

// Asks for the cache lines of [p + 8 KiB, p + 8 KiB + bytes) ahead of use. Decode reads every
// weight once, row after row: with the hardware prefetchers alone a core waited on each line of a
// Q4_K row (perf: the loads' consumers held most of the samples). TinyLlama-shaped Q4_K_M, two
// threads, decode tok/s by distance: none 14.6, 512 B 18.8, 1 KiB 21.5, 2 KiB 24.2, 4 KiB 23.2,
// 8 KiB 27.0, 16 KiB 25.7 (SmolLM2 Q4_1 the same from 4 to 16 KiB; docs/perf.md).
inline void prefetch_ahead(const void* p, size_t bytes) {
    constexpr uintptr_t kDistance = 8192;
    const uintptr_t start = reinterpret_cast<uintptr_t>(p) + kDistance;
    for (uintptr_t line = start & ~uintptr_t(63); line < start + bytes; line += 64)
        __builtin_prefetch(reinterpret_cast<const void*>(line));
}

}  // namespace SE_SIMD_ISA
}  // namespace selfextend::cpu
