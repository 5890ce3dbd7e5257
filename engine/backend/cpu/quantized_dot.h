// Decode-time dot products of quantized weight rows with activations rounded to integers once per
// matmul call: 16 bits per value, one float scale per block of activations. Each 32-value chunk of
// weights then costs a widening of its codes and one integer multiply-add instruction (pmaddwd,
// or vpdpwssd with AVX512-VNNI), instead of converting every weight to float.
//
// The block follows the weight type. The legacy types (a float scale per 32 weights) take blocks
// of 32, and pay one float multiply-add per chunk. The k-quants (integer sub-block scales under one
// float scale per 256 weights) take blocks of 256: their codes are multiplied by the small integer
// scales and summed in integers over the whole super-block, one conversion to float per 256
// weights, which is what lets decode run at the speed of memory (docs/perf.md). 16 bits keep the
// larger block precise: the step is max |x| / 32767 over 256 values.
//
// The rounding moves each activation by at most half a step: |x - scale * q| <= scale / 2 with
// scale = max |x| / 32767 over its block, so a dot product moves by at most
// sum_k |w_k| * scale_k / 2 (tst_matmul checks exactly this bound).
#pragma once

#include <cstdint>
#include <vector>

#include "gguf/dtype.h"

namespace selfextend::cpu {

// One token's activations: x[k] ~ scale[k / block] * q[k], with the sums the weight types with
// mins or offsets need.
struct Int16Activations {
    std::vector<int16_t> q;
    std::vector<float> scale;     // per block
    std::vector<float> sum;       // per 32 values: their block's scale * (sum of their q)
    std::vector<float> half_sum;  // per 16 values: the same

    // Rounds n values of x (n a multiple of `block`, itself 32 or 256, the values per scale) to
    // integers of at most `limit` (integer_matmul.h keeps its sums in range with a smaller one).
    void quantize(const float* x, int64_t n, int64_t block, int16_t limit = 32767);
};

// Dot product of a stored row of `cols` values with one token's activations.
using QuantizedRowDot = float (*)(const uint8_t* row, const Int16Activations& x, int64_t cols);

// The activation block a weight type's kernel expects: 256 for the k-quants, else 32.
constexpr int64_t activation_block(DType type) {
    switch (type) {
        case DType::Q2_K:
        case DType::Q3_K:
        case DType::Q4_K:
        case DType::Q5_K:
        case DType::Q6_K:
            return kSuperBlock;
        default:
            return 32;
    }
}

// A weight type's kernel, for activations rounded in blocks of activation_block(type); nullptr
// for the float types (F32, F16, BF16), which multiply float activations directly.
QuantizedRowDot quantized_row_dot(DType type);

}  // namespace selfextend::cpu
