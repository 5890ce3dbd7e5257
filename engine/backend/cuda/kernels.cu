#include <string>

#include "attention/position_rule.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels.h"

namespace selfextend::cuda {

namespace {

constexpr int kWarp = 32;
constexpr int kMaxHeadDim = 256;
constexpr int kAttentionWarps = 4;  // query rows (of one head each) per block

__device__ float warp_sum(float value) {
    for (int offset = kWarp / 2; offset > 0; offset /= 2)
        value += __shfl_xor_sync(0xffffffffu, value, offset);
    return value;
}

__device__ float warp_max(float value) {
    for (int offset = kWarp / 2; offset > 0; offset /= 2)
        value = fmaxf(value, __shfl_xor_sync(0xffffffffu, value, offset));
    return value;
}

__global__ void embed_kernel(const __half* table, const int32_t* tokens, int e, float* x) {
    const int t = blockIdx.x;
    const __half* row = table + int64_t(tokens[t]) * e;
    for (int k = threadIdx.x; k < e; k += blockDim.x) x[int64_t(t) * e + k] = __half2float(row[k]);
}

// One block per row: sum of squares by the block, then the scaled row.
__global__ void rms_norm_kernel(const float* x, const float* weight, int e, float eps,
                                __half* out) {
    __shared__ float partial[32];
    const float* row = x + int64_t(blockIdx.x) * e;
    float sum = 0.0f;
    for (int k = threadIdx.x; k < e; k += blockDim.x) sum += row[k] * row[k];
    sum = warp_sum(sum);
    if (threadIdx.x % kWarp == 0) partial[threadIdx.x / kWarp] = sum;
    __syncthreads();
    if (threadIdx.x < kWarp) {
        float total = threadIdx.x < blockDim.x / kWarp ? partial[threadIdx.x] : 0.0f;
        total = warp_sum(total);
        if (threadIdx.x == 0) partial[0] = rsqrtf(total / float(e) + eps);
    }
    __syncthreads();
    const float scale = partial[0];
    for (int k = threadIdx.x; k < e; k += blockDim.x)
        out[int64_t(blockIdx.x) * e + k] = __float2half(row[k] * scale * weight[k]);
}

__device__ void rotate_pair(float x0, float x1, const RopeTables& rope, int64_t position, int pair,
                            float* y0, float* y1) {
    const float c = rope.cos[position * rope.pairs + pair];
    const float s = rope.sin[position * rope.pairs + pair];
    *y0 = x0 * c - x1 * s;
    *y1 = x0 * s + x1 * c;
}

// One thread per (token, dimension pair, head) across the query heads and then the KV heads.
__global__ void rope_and_store_kernel(const float* q, const float* k, const float* v, int n,
                                      int64_t first, HeadShape shape, int group, int window,
                                      RopeTables rope, __half* q_out, __half* q_grouped_out,
                                      KvCache cache) {
    const int pairs_per_head = shape.head_dim / 2;
    const int64_t per_token = int64_t(shape.heads + shape.kv_heads) * pairs_per_head;
    const int64_t index = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (index >= per_token * n) return;
    const int t = int(index / per_token);
    const int64_t rest = index % per_token;
    const int head = int(rest / pairs_per_head);  // < heads: a query head; else a KV head
    const int pair = int(rest % pairs_per_head);
    const int64_t i = first + t;
    const bool rotates = pair < shape.rope_pairs;

    if (head < shape.heads) {
        const int64_t at = (int64_t(t) * shape.heads + head) * shape.head_dim + 2 * pair;
        const float x0 = q[at], x1 = q[at + 1];
        float y0 = x0, y1 = x1;
        if (rotates) rotate_pair(x0, x1, rope, i, pair, &y0, &y1);
        q_out[at] = __float2half(y0);
        q_out[at + 1] = __float2half(y1);
        if (q_grouped_out) {
            float g0 = x0, g1 = x1;
            if (rotates)
                rotate_pair(x0, x1, rope, position_rule::grouped_query_position(i, group, window),
                            pair, &g0, &g1);
            q_grouped_out[at] = __float2half(g0);
            q_grouped_out[at + 1] = __float2half(g1);
        }
        return;
    }
    const int kv = head - shape.heads;
    const int64_t from = (int64_t(t) * shape.kv_heads + kv) * shape.head_dim + 2 * pair;
    const int64_t to = (kv * cache.capacity + i) * shape.head_dim + 2 * pair;
    float y0 = k[from], y1 = k[from + 1];
    if (rotates) rotate_pair(k[from], k[from + 1], rope, i, pair, &y0, &y1);
    cache.keys[to] = __float2half(y0);
    cache.keys[to + 1] = __float2half(y1);
    cache.values[to] = __float2half(v[from]);
    cache.values[to + 1] = __float2half(v[from + 1]);
}

// A warp per (query row, head). Lane l scores key j0 + l of each block of 32 keys; the row's
// softmax is updated online per block; each lane accumulates head_dim / 32 output dimensions.
// A block of keys is neighbour-only, grouped-only or mixed for this row; the position rule is
// evaluated per key, so mixed blocks cost no more than the others.
__global__ void attention_kernel(const __half* q, const __half* q_grouped, KvCache cache,
                                 int64_t first, int n, HeadShape shape, int group, int window,
                                 bool self_extend, RopeTables rope, float scale, __half* out) {
    extern __shared__ float shared[];
    const int warp = threadIdx.x / kWarp;
    const int lane = threadIdx.x % kWarp;
    const int64_t row = int64_t(blockIdx.x) * kAttentionWarps + warp;
    const int hd = shape.head_dim;
    if (row >= int64_t(n) * shape.heads) return;
    const int t = int(row / shape.heads);
    const int head = int(row % shape.heads);
    const int kv = head / (shape.heads / shape.kv_heads);
    const int64_t i = first + t;

    // This row's query (and grouped query) in shared memory, read by every lane.
    float* q_row = shared + warp * 2 * hd;
    float* qg_row = q_row + hd;
    const int64_t q_at = (int64_t(t) * shape.heads + head) * hd;
    for (int d = lane; d < hd; d += kWarp) {
        q_row[d] = __half2float(q[q_at + d]);
        qg_row[d] = self_extend ? __half2float(q_grouped[q_at + d]) : 0.0f;
    }
    __syncwarp();

    const __half* keys = cache.keys + kv * cache.capacity * hd;
    const __half* values = cache.values + kv * cache.capacity * hd;
    constexpr int kSlots = kMaxHeadDim / kWarp;
    float acc[kSlots];
    for (int r = 0; r < kSlots; ++r) acc[r] = 0.0f;
    float running_max = -INFINITY, running_sum = 0.0f;

    for (int64_t j0 = 0; j0 <= i; j0 += kWarp) {
        const int64_t j = j0 + lane;
        float score = -INFINITY;
        if (j <= i) {
            const __half2* key = reinterpret_cast<const __half2*>(keys + j * hd);
            float dot = 0.0f;
            if (!self_extend || position_rule::is_neighbour(i, j, window)) {
                for (int p = 0; p < hd / 2; ++p) {
                    const float2 k2 = __half22float2(key[p]);
                    dot += q_row[2 * p] * k2.x + q_row[2 * p + 1] * k2.y;
                }
            } else {
                // Re-rotate the cached key from j to j/G: a rotation by -(j - j/G).
                const int64_t delta = j - position_rule::grouped_key_position(j, group);
                for (int p = 0; p < hd / 2; ++p) {
                    const float2 k2 = __half22float2(key[p]);
                    float k0 = k2.x, k1 = k2.y;
                    if (p < rope.pairs) {
                        const float c = rope.cos[delta * rope.pairs + p];
                        const float s = rope.sin[delta * rope.pairs + p];
                        k0 = k2.x * c + k2.y * s;
                        k1 = -k2.x * s + k2.y * c;
                    }
                    dot += qg_row[2 * p] * k0 + qg_row[2 * p + 1] * k1;
                }
            }
            score = dot * scale;
        }
        const float block_max = warp_max(score);
        const float new_max = fmaxf(running_max, block_max);
        const float weight = j <= i ? __expf(score - new_max) : 0.0f;
        const float correction = __expf(running_max - new_max);
        running_sum = running_sum * correction + warp_sum(weight);
        running_max = new_max;
        for (int r = 0; r < kSlots; ++r) acc[r] *= correction;
        const int visible = i - j0 + 1 < kWarp ? int(i - j0 + 1) : kWarp;
        for (int jj = 0; jj < visible; ++jj) {
            const float p = __shfl_sync(0xffffffffu, weight, jj);
            const __half* value = values + (j0 + jj) * hd;
#pragma unroll
            for (int r = 0; r < kSlots; ++r)
                if (lane + r * kWarp < hd) acc[r] += p * __half2float(value[lane + r * kWarp]);
        }
    }
    const float inverse = 1.0f / running_sum;
#pragma unroll
    for (int r = 0; r < kSlots; ++r)
        if (lane + r * kWarp < hd) out[q_at + lane + r * kWarp] = __float2half(acc[r] * inverse);
}

__global__ void silu_mul_kernel(const float* gate, const float* up, int64_t count, __half* out) {
    const int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (k >= count) return;
    const float g = gate[k];
    out[k] = __float2half(g / (1.0f + __expf(-g)) * up[k]);
}

unsigned blocks_for(int64_t count, int threads) {
    return unsigned((count + threads - 1) / threads);
}

}  // namespace

void embed(const __half* table, const int32_t* tokens, int n, int e, float* x,
           cudaStream_t stream) {
    embed_kernel<<<n, 256, 0, stream>>>(table, tokens, e, x);
    SE_CUDA_CHECK_LAUNCH(stream);
}

void rms_norm_to_half(const float* x, const float* weight, int n, int e, float eps, __half* out,
                      cudaStream_t stream) {
    rms_norm_kernel<<<n, 256, 0, stream>>>(x, weight, e, eps, out);
    SE_CUDA_CHECK_LAUNCH(stream);
}

void rope_and_store(const float* q, const float* k, const float* v, int n, int64_t first,
                    const HeadShape& shape, const AttentionMode& mode, const RopeTables& rope,
                    __half* q_out, __half* q_grouped_out, const KvCache& cache,
                    cudaStream_t stream) {
    const int64_t count = int64_t(n) * (shape.heads + shape.kv_heads) * (shape.head_dim / 2);
    rope_and_store_kernel<<<blocks_for(count, 256), 256, 0, stream>>>(
        q, k, v, n, first, shape, mode.group, mode.window, rope, q_out, q_grouped_out, cache);
    SE_CUDA_CHECK_LAUNCH(stream);
}

void attention(const __half* q, const __half* q_grouped, const KvCache& cache, int64_t first, int n,
               const HeadShape& shape, const AttentionMode& mode, const RopeTables& rope,
               __half* out, cudaStream_t stream) {
    if (shape.head_dim % kWarp != 0 || shape.head_dim > kMaxHeadDim)
        throw Error("CUDA attention: head dimension " + std::to_string(shape.head_dim) +
                    " is not a multiple of 32 up to 256");
    const int64_t rows = int64_t(n) * shape.heads;
    const size_t shared = size_t(kAttentionWarps) * 2 * shape.head_dim * sizeof(float);
    const float scale = 1.0f / sqrtf(float(shape.head_dim));
    attention_kernel<<<blocks_for(rows, kAttentionWarps), kAttentionWarps * kWarp, shared,
                       stream>>>(q, q_grouped, cache, first, n, shape, mode.group, mode.window,
                                 !mode.is_vanilla(), rope, scale, out);
    SE_CUDA_CHECK_LAUNCH(stream);
}

void silu_mul_to_half(const float* gate, const float* up, int64_t count, __half* out,
                      cudaStream_t stream) {
    silu_mul_kernel<<<blocks_for(count, 256), 256, 0, stream>>>(gate, up, count, out);
    SE_CUDA_CHECK_LAUNCH(stream);
}

}  // namespace selfextend::cuda
