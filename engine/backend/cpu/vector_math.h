// Element-wise maths on 16-lane vectors: exp (for the softmax) and the row operations of a
// transformer layer.
#pragma once

#include <cmath>
#include <cstdint>

#include "backend/cpu/simd.h"

namespace selfextend::cpu {
inline namespace SE_SIMD_ISA {  // see simd.h

typedef int32_t i32x16 __attribute__((vector_size(kLanes * sizeof(int32_t))));

// e^x with relative error below 2e-7 for x in [-87, 88]; exactly 0 below -87.
// Range reduction x = n ln2 + r, |r| <= ln2/2, then a degree-6 polynomial for e^r.
inline f32x16 exp16(f32x16 x) {
    f32x16 clamped = x > 88.0f ? splat16(88.0f) : x;
    clamped = clamped < -88.0f ? splat16(-88.0f) : clamped;
    const f32x16 t = clamped * 1.44269504088896341f + 0.5f;
    i32x16 n = __builtin_convertvector(t, i32x16);          // truncates toward zero
    n -= (__builtin_convertvector(n, f32x16) > t) ? 1 : 0;  // floor for negative t
    f32x16 nf = __builtin_convertvector(n, f32x16);
    const f32x16 r = clamped - nf * 0.693359375f + nf * 2.12194440e-4f;
    f32x16 p = splat16(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const i32x16 bits = (n + 127) << 23;
    f32x16 scale;
    std::memcpy(&scale, &bits, sizeof scale);
    const f32x16 result = p * scale;
    return x < -87.0f ? f32x16{} : result;
}

// out = x / rms(x) * weight, for one row of n values.
inline void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps) {
    double sum = 0;
    for (int64_t k = 0; k < n; ++k) sum += double(x[k]) * x[k];
    const float scale = float(1.0 / std::sqrt(sum / double(n) + double(eps)));
    for (int64_t k = 0; k < n; ++k) out[k] = x[k] * scale * weight[k];
}

// out = (x - mean(x)) / sqrt(var(x) + eps) * weight + bias, for one row of n values (LayerNorm).
inline void layer_norm(const float* x, const float* weight, const float* bias, float* out,
                       int64_t n, float eps) {
    double sum = 0;
    for (int64_t k = 0; k < n; ++k) sum += x[k];
    const double mean = sum / double(n);
    double squares = 0;
    for (int64_t k = 0; k < n; ++k) squares += (x[k] - mean) * (x[k] - mean);
    const float scale = float(1.0 / std::sqrt(squares / double(n) + double(eps)));
    const float shift = float(mean);
    for (int64_t k = 0; k < n; ++k) out[k] = (x[k] - shift) * scale * weight[k] + bias[k];
}

// rows[t][k] += bias[k] for n rows of `width` values.
inline void add_row_bias(float* rows, const float* bias, int64_t n, int64_t width) {
    for (int64_t t = 0; t < n; ++t)
        for (int64_t k = 0; k < width; ++k) rows[t * width + k] += bias[k];
}

// GELU in its tanh form (Gemma's GeGLU, Phi-2's MLP):
// gelu(x) = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
inline float gelu_tanh(float x) {
    constexpr float kSqrt2OverPi = 0.7978845608028654f;
    return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
}

// x = gelu(x), element-wise.
inline void gelu_tanh_rows(float* x, int64_t n) {
    for (int64_t k = 0; k < n; ++k) x[k] = gelu_tanh(x[k]);
}

// gate = silu(gate) * up, element-wise.
inline void silu_mul(float* gate, const float* up, int64_t n) {
    for (int64_t k = 0; k < n; ++k) gate[k] = gate[k] / (1.0f + std::exp(-gate[k])) * up[k];
}

// gate = gelu(gate) * up, element-wise (GeGLU).
inline void gelu_tanh_mul(float* gate, const float* up, int64_t n) {
    for (int64_t k = 0; k < n; ++k) gate[k] = gelu_tanh(gate[k]) * up[k];
}

}  // namespace SE_SIMD_ISA
}  // namespace selfextend::cpu
