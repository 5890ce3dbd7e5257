// How one cached row (a key or a value of one KV head, head_dim numbers) is stored in each KV
// type, written with round-to-nearest and read back sixteen floats at a time:
//   F32   head_dim floats
//   F16   head_dim IEEE halves
//   Q8_0  blocks of 32 values: an f16 scale d and 32 signed bytes q, value = d * q (the GGUF
//         block, 34 bytes per 32 values)
// The attention kernel instantiates itself per type with the row readers below, so the
// conversion happens in registers as the rows stream past.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "backend/cpu/simd.h"
#include "gguf/block_layouts.h"
#include "selfextend/engine.h"

namespace selfextend::cpu {
inline namespace SE_SIMD_ISA {  // see simd.h

// Bytes one row of head_dim values takes (head_dim a multiple of 16; of 32 for Q8_0).
constexpr size_t kv_row_bytes(KvType type, int head_dim) {
    switch (type) {
        case KvType::F32:
            return size_t(head_dim) * sizeof(float);
        case KvType::F16:
            return size_t(head_dim) * sizeof(uint16_t);
        case KvType::Q8_0:
            return size_t(head_dim / kQ8_0Block) * sizeof(BlockQ8_0);
    }
    return 0;
}

static_assert(kv_row_bytes(KvType::Q8_0, 64) == 68);  // 34 bytes per 32 values

// Whether rows of this head dimension can be stored as `type` (Q8_0 needs whole blocks).
constexpr bool kv_type_fits(KvType type, int head_dim) {
    return head_dim % kLanes == 0 && (type != KvType::Q8_0 || head_dim % kQ8_0Block == 0);
}

// One half to float, and one float to the nearest half (ties to even).
inline float half_to_float_fast(uint16_t h) {
    return float(std::bit_cast<_Float16>(h));
}
inline uint16_t float_to_half_nearest(float x) {
    return std::bit_cast<uint16_t>(static_cast<_Float16>(x));
}

// Sixteen floats to sixteen halves, rounding to nearest even.
inline void store16_f16(void* p, f32x16 v) {
#if defined(__AVX512F__)
    __m512 wide;
    std::memcpy(&wide, &v, sizeof wide);
    // (the zero-masked form: GCC 12 warns about the unmasked one's undefined source)
    _mm256_storeu_si256(
        static_cast<__m256i*>(p),
        _mm512_maskz_cvtps_ph(0xffff, wide, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#elif defined(__F16C__)
    __m256 half[2];
    std::memcpy(half, &v, sizeof half);
    for (int k = 0; k < 2; ++k)
        _mm_storeu_si128(static_cast<__m128i*>(p) + k,
                         _mm256_cvtps_ph(half[k], _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#else
    auto* out = static_cast<uint16_t*>(p);
    for (int k = 0; k < kLanes; ++k) out[k] = float_to_half_nearest(v[k]);
#endif
}

// Stores one row of head_dim floats as `type` at dst.
inline void store_kv_row(KvType type, const float* src, void* dst, int head_dim) {
    switch (type) {
        case KvType::F32:
            std::memcpy(dst, src, size_t(head_dim) * sizeof(float));
            return;
        case KvType::F16:
            for (int d = 0; d < head_dim; d += kLanes)
                store16_f16(static_cast<uint16_t*>(dst) + d, load16(src + d));
            return;
        case KvType::Q8_0: {
            auto* blocks = static_cast<BlockQ8_0*>(dst);
            for (int b = 0; b < head_dim / kQ8_0Block; ++b) {
                const float* x = src + b * kQ8_0Block;
                float amax = 0;
                for (int k = 0; k < kQ8_0Block; ++k) amax = std::max(amax, std::fabs(x[k]));
                // Round with the scale as stored (f16), so that d * q is the nearest code to x.
                const uint16_t scale = float_to_half_nearest(amax / 127.0f);
                const float d = half_to_float_fast(scale);
                const float inverse = d > 0 ? 1.0f / d : 0.0f;
                blocks[b].scale = scale;
                for (int k = 0; k < kQ8_0Block; ++k)
                    blocks[b].q[k] =
                        int8_t(std::clamp(std::nearbyint(x[k] * inverse), -127.0f, 127.0f));
            }
            return;
        }
    }
}

// Readers: values [d, d + 16) of a stored row as floats (d a multiple of 16).
template <KvType T>
struct KvRowReader;

template <>
struct KvRowReader<KvType::F32> {
    static f32x16 load(const std::byte* row, int d) {
        return load16(reinterpret_cast<const float*>(row) + d);
    }
};

template <>
struct KvRowReader<KvType::F16> {
    static f32x16 load(const std::byte* row, int d) {
        return load16_f16(reinterpret_cast<const uint16_t*>(row) + d);
    }
};

// Sixteen signed bytes to floats. (GCC 12 turns the generic vector conversion into sixteen
// scalar ones: sign-extend to 32-bit lanes and convert with the target's instructions instead.)
inline f32x16 load16_i8_fast(const int8_t* p) {
#if defined(__AVX512F__)
    // (zero-masked forms: GCC 12 warns about the unmasked ones' undefined sources)
    const __m512i ints =
        _mm512_maskz_cvtepi8_epi32(0xffff, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    const __m512 wide = _mm512_maskz_cvtepi32_ps(0xffff, ints);
    f32x16 v;
    std::memcpy(&v, &wide, sizeof v);
    return v;
#elif defined(__AVX2__)
    __m256 half[2];
    for (int k = 0; k < 2; ++k)
        half[k] = _mm256_cvtepi32_ps(
            _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 8 * k))));
    f32x16 v;
    std::memcpy(&v, half, sizeof v);
    return v;
#else
    return load16_i8(p);
#endif
}

template <>
struct KvRowReader<KvType::Q8_0> {
    static f32x16 load(const std::byte* row, int d) {
        const auto* block = reinterpret_cast<const BlockQ8_0*>(row) + unsigned(d) / kQ8_0Block;
        uint16_t scale;
        std::memcpy(&scale, &block->scale, sizeof scale);
        return load16_i8_fast(block->q + unsigned(d) % kQ8_0Block) * half_to_float_fast(scale);
    }
};

}  // namespace SE_SIMD_ISA
}  // namespace selfextend::cpu
