// Decode-time dot products of quantized weight rows with activations rounded to integers once per
// matmul call: 16 bits per value, one float scale per 32 values. Each 32-value chunk of weights
// then costs a widening of its codes, one integer multiply-add instruction (pmaddwd) and one float
// multiply-add, instead of converting every weight to float.
//
// The rounding moves each activation by at most half a step: |x - scale * q| <= scale / 2 with
// scale = max |x| / 32767 over the 32 values, so a dot product moves by at most
// sum_k |w_k| * scale_k / 2 (tst_matmul checks exactly this bound).
#pragma once

#include <cstdint>
#include <vector>

#include "gguf/dtype.h"

namespace selfextend::cpu {

inline constexpr int64_t kActivationBlock = 32;

// One token's activations: x[k] ~ scale[k / 32] * q[k], with the sums the weight types with mins
// or offsets need.
struct Int16Activations {
    std::vector<int16_t> q;
    std::vector<float> scale;     // per 32 values
    std::vector<float> sum;       // per 32 values: scale * (sum of their q)
    std::vector<float> half_sum;  // per 16 values: scale * (sum of their q)

    // Rounds n values of x (n a multiple of 32).
    void quantize(const float* x, int64_t n);
};

// Dot product of a stored row of `cols` values with one token's activations.
using QuantizedRowDot = float (*)(const uint8_t* row, const Int16Activations& x, int64_t cols);

// The kernel for a weight type, or nullptr for the float types (F32, F16, BF16), which multiply
// float activations directly.
QuantizedRowDot quantized_row_dot(DType type);

}  // namespace selfextend::cpu
