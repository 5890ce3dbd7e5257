// y = x W^T for weights in any stored type: y[t][r] = sum_k W[r][k] x[t][k].
// Few tokens (decode): dot products straight from the stored rows. Many tokens (prefill): panels
// of 32 weight rows are converted to float32 once and multiplied with a register-blocked kernel.
#pragma once

#include <cstdint>

#include "model/llama_weights.h"

namespace selfextend::cpu {

class ThreadPool;

// x: [n][w.cols], y: [n][w.rows].
void matmul(const WeightMatrix& w, const float* x, int64_t n, float* y, ThreadPool& pool);

// Dot product of stored row r of w with x (w.cols values).
float dot_row(const WeightMatrix& w, int64_t r, const float* x);

}  // namespace selfextend::cpu
