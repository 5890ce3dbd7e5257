// Launchers of the CUDA backend's kernels. Every pointer is device memory; every launch goes to
// the given stream. Row-major layouts throughout.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "selfextend/attention_mode.h"

namespace selfextend::cuda {

struct HeadShape {
    int heads = 0;
    int kv_heads = 0;
    int head_dim = 0;  // a multiple of 32, at most 256 (RopeTables::pairs: how many pairs rotate)
};

// The rotation tables of a session, [position][pair], on the device.
struct RopeTables {
    const float* cos = nullptr;
    const float* sin = nullptr;
    int pairs = 0;
};

// One layer's KV cache: head-major [kv head][capacity][head_dim], K rotated at its position j.
struct KvCache {
    __half* keys = nullptr;
    __half* values = nullptr;
    int64_t capacity = 0;
};

// x[t] = embedding row tokens[t] (fp16 table [vocab][e]).
void embed(const __half* table, const int32_t* tokens, int n, int e, float* x, cudaStream_t stream);

// out[t] = x[t] / rms(x[t]) * weight, as fp16 (the next matrix product's input).
void rms_norm_to_half(const float* x, const float* weight, int n, int e, float eps, __half* out,
                      cudaStream_t stream);

// Rotates q (at i) and, for Self-Extend, q_grouped (at i/G + W - W/G) to fp16; rotates k at i
// and stores k and v into the cache at positions first .. first + n - 1.
void rope_and_store(const float* q, const float* k, const float* v, int n, int64_t first,
                    const HeadShape& shape, const AttentionMode& mode, const RopeTables& rope,
                    __half* q_out, __half* q_grouped_out, const KvCache& cache,
                    cudaStream_t stream);

// One-pass causal attention, vanilla or Self-Extend, with an online softmax over key blocks.
// Neighbour keys use the cached rotation; grouped keys are re-rotated on the fly from j to j/G,
// so K is cached once. out: [n][heads * head_dim] fp16.
void attention(const __half* q, const __half* q_grouped, const KvCache& cache, int64_t first, int n,
               const HeadShape& shape, const AttentionMode& mode, const RopeTables& rope,
               __half* out, cudaStream_t stream);

// out = silu(gate) * up, as fp16.
void silu_mul_to_half(const float* gate, const float* up, int64_t count, __half* out,
                      cudaStream_t stream);

}  // namespace selfextend::cuda
