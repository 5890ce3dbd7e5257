// Prefill's matrix products for quantized weights on CPUs with AVX512-VNNI, in 16-bit integers.
//
// Every 32 values of a quantized row are value = scale * code + offset with an integer code
// (the k-quants' sub-block scales multiplied into their codes: |code| <= 4 096). The activations
// are rounded once to 16-bit integers per block of 32 (|q| <= 16 383, quantized_dot.h's rounding
// with a smaller range). Then a product of 32 values is 16 vpdpwssd, each 32 multiply-adds: twice
// the float FMA's 16, at the same rate of two instructions per cycle. The integer sums are turned
// to float once per 32 values: sum * scale_w * scale_x + offset_w * sum(x).
//
// Overflow: a 32-bit lane sums 32 products per block, at most 4 096 x 16 383 x 32 = 2 147 352 576,
// under 2^31 = 2 147 483 648 (Q6_K's extreme; Q4_K's is 945 x 16 383 x 32).
#pragma once

#include <cstdint>

#include "gguf/dtype.h"
#include "model/model_weights.h"

namespace selfextend::cpu {

class ThreadPool;

inline constexpr bool kIntegerMatmul =
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
    true;
#else
    false;
#endif

// The activations' range: |q| <= this (the overflow note above).
inline constexpr int16_t kIntegerMatmulActivationLimit = 16383;

// The weight types multiplied in integers (Q2_K's offsets come per 16 values: not here).
constexpr bool multiplies_in_integers(DType type) {
    switch (type) {
        case DType::Q4_0:
        case DType::Q4_1:
        case DType::Q5_0:
        case DType::Q5_1:
        case DType::Q8_0:
        case DType::Q3_K:
        case DType::Q4_K:
        case DType::Q5_K:
        case DType::Q6_K:
            return true;
        default:
            return false;
    }
}

// y[t][r] = sum_k w[r][k] x[t][k] for n tokens, as matmul() does; false (and y untouched) when
// this build has no AVX512-VNNI (kIntegerMatmul) or multiplies_in_integers() says no.
bool integer_matmul(const WeightMatrix& w, const float* x, int64_t n, float* y, ThreadPool& pool);

}  // namespace selfextend::cpu
