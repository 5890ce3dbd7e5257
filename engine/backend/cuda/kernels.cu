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
    const bool rotates = pair < rope.pairs;

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
// The position rule is evaluated per key: lanes of the one block per row that straddles the
// window edge take both branches, one after the other. Used for decode (few rows); prefill
// takes the tiled kernel below.
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

// Prefill: a block per (32 query rows, head). K and V tiles of 32 keys pass through shared memory
// once for all 32 rows. Each (query block, key block) tile is neighbour-only, grouped-only or
// mixed: a neighbour-only tile loads K as cached, a grouped-only tile loads K re-rotated from j
// to j / G, and only mixed tiles (on the band edge) load both and pick per pair. Four threads
// per query row: each scores 8 keys and accumulates HD / 4 output dimensions.
constexpr int kTileRows = 32;
constexpr int kTileKeys = 32;
constexpr int kThreadsPerRow = 4;
constexpr int kTileThreads = kTileRows * kThreadsPerRow;
constexpr int kKeysPerThread = kTileKeys / kThreadsPerRow;

template <int HD>
constexpr size_t tiled_shared_floats() {
    // Q and grouped Q, K and grouped K (rows padded by one against bank conflicts), V, P.
    return size_t(4) * kTileRows * (HD + 1) + size_t(kTileKeys) * HD +
           size_t(kTileRows) * (kTileKeys + 1);
}

template <int HD>
__global__ void __launch_bounds__(kTileThreads)
    attention_tiled_kernel(const __half* q, const __half* q_grouped, KvCache cache, int64_t first,
                           int n, HeadShape shape, int group, int window, bool self_extend,
                           RopeTables rope, float scale, __half* out) {
    extern __shared__ float shared[];
    constexpr int kStride = HD + 1;
    float* q_tile = shared;
    float* qg_tile = q_tile + kTileRows * kStride;
    float* k_tile = qg_tile + kTileRows * kStride;
    float* kg_tile = k_tile + kTileKeys * kStride;
    float* v_tile = kg_tile + kTileKeys * kStride;
    float* p_tile = v_tile + kTileKeys * HD;

    const int head = blockIdx.y;
    const int kv = head / (shape.heads / shape.kv_heads);
    const int t0 = blockIdx.x * kTileRows;
    const int row = threadIdx.x / kThreadsPerRow;
    const int part = threadIdx.x % kThreadsPerRow;
    const int t = t0 + row;
    const bool row_valid = t < n;
    const int64_t i = first + t;
    const int64_t first_query = first + t0;
    const int64_t last_query = first + min(t0 + kTileRows, n) - 1;

    for (int x = threadIdx.x; x < kTileRows * HD; x += kTileThreads) {
        const int r = x / HD, d = x % HD;
        const int64_t at = (int64_t(t0 + r) * shape.heads + head) * HD + d;
        const bool inside = t0 + r < n;
        q_tile[r * kStride + d] = inside ? __half2float(q[at]) : 0.0f;
        qg_tile[r * kStride + d] = inside && self_extend ? __half2float(q_grouped[at]) : 0.0f;
    }

    const __half* keys = cache.keys + kv * cache.capacity * HD;
    const __half* values = cache.values + kv * cache.capacity * HD;
    float acc[HD / kThreadsPerRow];
#pragma unroll
    for (int k = 0; k < HD / kThreadsPerRow; ++k) acc[k] = 0.0f;
    float running_max = -INFINITY, running_sum = 0.0f;

    for (int64_t j0 = 0; j0 <= last_query; j0 += kTileKeys) {
        const int count = last_query + 1 - j0 < kTileKeys ? int(last_query + 1 - j0) : kTileKeys;
        const bool neighbour_only =
            !self_extend || position_rule::is_neighbour(last_query, j0, window);
        const bool grouped_only =
            self_extend && !position_rule::is_neighbour(first_query, j0 + count - 1, window);
        __syncthreads();  // the previous tile's readers are done
        for (int x = threadIdx.x; x < kTileKeys * HD; x += kTileThreads) {
            const int c = x / HD, d = x % HD;
            const bool inside = c < count;
            if (!grouped_only)
                k_tile[c * kStride + d] = inside ? __half2float(keys[(j0 + c) * HD + d]) : 0.0f;
            v_tile[c * HD + d] = inside ? __half2float(values[(j0 + c) * HD + d]) : 0.0f;
        }
        if (!neighbour_only) {
            for (int x = threadIdx.x; x < kTileKeys * (HD / 2); x += kTileThreads) {
                const int c = x / (HD / 2), p = x % (HD / 2);
                const int64_t j = j0 + c;
                float k0 = 0.0f, k1 = 0.0f;
                if (c < count) {
                    const float2 k2 =
                        __half22float2(reinterpret_cast<const __half2*>(keys + j * HD)[p]);
                    k0 = k2.x;
                    k1 = k2.y;
                    if (p < rope.pairs) {  // re-rotate from j to j / G: by -(j - j / G)
                        const int64_t delta = j - position_rule::grouped_key_position(j, group);
                        const float cs = rope.cos[delta * rope.pairs + p],
                                    sn = rope.sin[delta * rope.pairs + p];
                        k0 = k2.x * cs + k2.y * sn;
                        k1 = k2.y * cs - k2.x * sn;
                    }
                }
                kg_tile[c * kStride + 2 * p] = k0;
                kg_tile[c * kStride + 2 * p + 1] = k1;
            }
        }
        __syncthreads();

        float score[kKeysPerThread];
        float block_max = -INFINITY;
#pragma unroll
        for (int u = 0; u < kKeysPerThread; ++u) {
            const int c = part * kKeysPerThread + u;
            const int64_t j = j0 + c;
            score[u] = -INFINITY;
            if (row_valid && c < count && j <= i) {
                const bool neighbour = !self_extend || position_rule::is_neighbour(i, j, window);
                const float* qr = (neighbour ? q_tile : qg_tile) + row * kStride;
                const float* kr = (neighbour ? k_tile : kg_tile) + c * kStride;
                float dot = 0.0f;
#pragma unroll 8
                for (int d = 0; d < HD; ++d) dot += qr[d] * kr[d];
                score[u] = dot * scale;
            }
            block_max = fmaxf(block_max, score[u]);
        }
        // The four threads of a row are adjacent lanes of one warp.
        block_max = fmaxf(block_max, __shfl_xor_sync(0xffffffffu, block_max, 1));
        block_max = fmaxf(block_max, __shfl_xor_sync(0xffffffffu, block_max, 2));
        const float new_max = fmaxf(running_max, block_max);
        const float correction = new_max == -INFINITY ? 1.0f : __expf(running_max - new_max);
        float block_sum = 0.0f;
#pragma unroll
        for (int u = 0; u < kKeysPerThread; ++u) {
            const float p = score[u] == -INFINITY ? 0.0f : __expf(score[u] - new_max);
            p_tile[row * (kTileKeys + 1) + part * kKeysPerThread + u] = p;
            block_sum += p;
        }
        block_sum += __shfl_xor_sync(0xffffffffu, block_sum, 1);
        block_sum += __shfl_xor_sync(0xffffffffu, block_sum, 2);
        running_sum = running_sum * correction + block_sum;
        running_max = new_max;
        __syncwarp();  // this row's weights, written by its four lanes, are visible to them
#pragma unroll
        for (int k = 0; k < HD / kThreadsPerRow; ++k) acc[k] *= correction;
        for (int c = 0; c < count; ++c) {
            const float p = p_tile[row * (kTileKeys + 1) + c];
            const float* v = v_tile + c * HD + part;
#pragma unroll
            for (int k = 0; k < HD / kThreadsPerRow; ++k) acc[k] += p * v[k * kThreadsPerRow];
        }
    }
    if (!row_valid) return;
    const float inverse = 1.0f / running_sum;
    const int64_t at = (int64_t(t) * shape.heads + head) * HD + part;
#pragma unroll
    for (int k = 0; k < HD / kThreadsPerRow; ++k)
        out[at + k * kThreadsPerRow] = __float2half(acc[k] * inverse);
}

// Launches the tiled kernel for this head dimension; false when it does not apply (another head
// dimension, or more shared memory than the device gives a block).
template <int HD>
bool launch_tiled(const __half* q, const __half* q_grouped, const KvCache& cache, int64_t first,
                  int n, const HeadShape& shape, const AttentionMode& mode, const RopeTables& rope,
                  float scale, __half* out, cudaStream_t stream) {
    if (shape.head_dim != HD) return false;
    const size_t bytes = tiled_shared_floats<HD>() * sizeof(float);
    int device = 0, limit = 0;
    SE_CUDA_CHECK(cudaGetDevice(&device));
    SE_CUDA_CHECK(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
    if (bytes > size_t(limit)) return false;
    SE_CUDA_CHECK(cudaFuncSetAttribute(attention_tiled_kernel<HD>,
                                       cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)));
    const dim3 grid(unsigned((n + kTileRows - 1) / kTileRows), unsigned(shape.heads));
    attention_tiled_kernel<HD>
        <<<grid, kTileThreads, bytes, stream>>>(q, q_grouped, cache, first, n, shape, mode.group,
                                                mode.window, !mode.is_vanilla(), rope, scale, out);
    SE_CUDA_CHECK_LAUNCH(stream);
    return true;
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
    const float scale = 1.0f / sqrtf(float(shape.head_dim));
    // Prefill shares K/V tiles among query rows; a few rows (decode) take a warp per row.
    constexpr int kTiledFromRows = 8;
    if (n >= kTiledFromRows &&
        (launch_tiled<64>(q, q_grouped, cache, first, n, shape, mode, rope, scale, out, stream) ||
         launch_tiled<128>(q, q_grouped, cache, first, n, shape, mode, rope, scale, out, stream) ||
         launch_tiled<256>(q, q_grouped, cache, first, n, shape, mode, rope, scale, out, stream)))
        return;
    const int64_t rows = int64_t(n) * shape.heads;
    const size_t shared = size_t(kAttentionWarps) * 2 * shape.head_dim * sizeof(float);
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
