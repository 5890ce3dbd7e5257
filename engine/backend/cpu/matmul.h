// y = x W^T for weights in any stored type: y[t][r] = sum_k W[r][k] x[t][k].
// Few tokens (decode): dot products straight from the stored rows, with the activations rounded
// to 16-bit integers for the quantized types (quantized_dot.h) and kept in float for
// F32/F16/BF16.
// Many tokens (prefill): with AVX512-VNNI the quantized types (but Q2_K) are multiplied in 16-bit
// integers (integer_matmul.h); otherwise panels of 32 weight rows x 256 columns are converted to
// float32 and multiplied with a register-blocked kernel, in float throughout.
#pragma once

#include <cstdint>

#include "model/model_weights.h"

namespace selfextend::cpu {

class ThreadPool;

// x: [n][w.cols], y: [n][w.rows].
void matmul(const WeightMatrix& w, const float* x, int64_t n, float* y, ThreadPool& pool);

}  // namespace selfextend::cpu
