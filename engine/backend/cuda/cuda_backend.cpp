// The CUDA backend: weights uploaded once as fp16, matrix products through cuBLAS (fp16 inputs,
// fp32 accumulation and outputs), fused norm/RoPE/SwiGLU kernels, an fp16 KV cache and the
// one-pass Self-Extend attention kernel. A stream and a cuBLAS handle per session.
#include "backend/cuda/cuda_backend.h"

#include <cuda_fp16.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_graph_support.h"
#include "backend/cuda/cuda_resources.h"
#include "backend/cuda/kernels.h"
#include "backend/host_memory.h"
#include "backend/rope_table.h"

namespace selfextend::cuda {

namespace {

constexpr int64_t kMaxChunk = 512;

struct DeviceMatrix {
    DeviceBuffer<__half> data;
    int64_t rows = 0;
    int64_t cols = 0;
};

// Converts any stored type to fp16 on the host, then copies it to the device.
DeviceMatrix upload(const WeightMatrix& w) {
    require_host_memory(uint64_t(w.rows * w.cols) * 2, "converting '" + w.name + "' for the GPU");
    std::vector<uint16_t> halves(size_t(w.rows * w.cols));
    if (w.dtype->type == DType::F16) {
        std::memcpy(halves.data(), w.data, halves.size() * sizeof(uint16_t));
    } else {
        std::vector<float> row(size_t(w.cols));
        for (int64_t r = 0; r < w.rows; ++r) {
            w.dtype->dequantize_row(w.row(r), row.data(), w.cols);
            for (int64_t c = 0; c < w.cols; ++c)
                halves[size_t(r * w.cols + c)] = float_to_half(row[size_t(c)]);
        }
    }
    DeviceMatrix m{DeviceBuffer<__half>(halves.size(), "weight '" + w.name + "'"), w.rows, w.cols};
    SE_CUDA_CHECK(cudaMemcpy(m.data.get(), halves.data(), halves.size() * sizeof(uint16_t),
                             cudaMemcpyHostToDevice));
    return m;
}

DeviceBuffer<float> upload(const std::vector<float>& values, const std::string& what) {
    DeviceBuffer<float> buffer(values.size(), what);
    SE_CUDA_CHECK(cudaMemcpy(buffer.get(), values.data(), values.size() * sizeof(float),
                             cudaMemcpyHostToDevice));
    return buffer;
}

struct DeviceLayer {
    DeviceBuffer<float> attention_norm, ffn_norm;
    DeviceMatrix wq, wk, wv, wo, gate, up, down;
};

struct DeviceWeights {
    DeviceMatrix embedding;
    std::vector<DeviceLayer> layers;
    DeviceBuffer<float> output_norm;
    DeviceMatrix output;
};

// y[n][w.rows] = x[n][w.cols] W^T + beta * y
void matmul(cublasHandle_t handle, const DeviceMatrix& w, const __half* x, int64_t n, float* y,
            float beta) {
    const float alpha = 1.0f;
    SE_CUBLAS_CHECK(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, int(w.rows), int(n), int(w.cols),
                                 &alpha, w.data.get(), CUDA_R_16F, int(w.cols), x, CUDA_R_16F,
                                 int(w.cols), &beta, y, CUDA_R_32F, int(w.rows), CUBLAS_COMPUTE_32F,
                                 CUBLAS_GEMM_DEFAULT));
}

// Checks that a session's KV cache, RoPE table and activations fit in free device memory before
// anything is allocated; returns the bytes.
uint64_t require_session_memory(const HyperParams& hp, int64_t capacity,
                                const AttentionMode& mode) {
    const uint64_t cache =
        uint64_t(hp.layer_count) * 2 * hp.head_count_kv * uint64_t(capacity) * hp.head_dim * 2;
    const uint64_t rope =
        uint64_t(RopeTable::positions_for(capacity, mode)) * (hp.rope_dimensions / 2) * 2 * 4;
    const uint64_t activations =
        uint64_t(kMaxChunk) *
        (uint64_t(hp.embedding_length) * 6 + uint64_t(hp.q_dim()) * 10 + uint64_t(hp.kv_dim()) * 8 +
         uint64_t(hp.feed_forward_length) * 10 + uint64_t(hp.vocab_size) * 4);
    const uint64_t needed = cache + rope + activations;
    const auto [free, total] = device_memory();
    if (needed > free)
        throw OutOfMemory("out of GPU memory: a session of " + std::to_string(capacity) +
                          " tokens needs " + format_bytes(needed) + " (KV cache " +
                          format_bytes(cache) + "), " + format_bytes(free) + " of " +
                          format_bytes(total) + " is free");
    return needed;
}

class CudaSession final : public detail::BackendSession {
  public:
    CudaSession(const HyperParams& hp, const DeviceWeights& weights, const DeviceMatrix& output,
                int64_t capacity, const AttentionMode& mode);

    void forward(std::span<const int32_t> tokens, int64_t logit_rows, float* logits) override;
    int64_t length() const override { return length_; }
    int64_t capacity() const override { return capacity_; }
    void truncate(int64_t n) override { length_ = std::min(length_, n); }
    uint64_t kv_cache_bytes() const override {
        uint64_t bytes = 0;
        for (const auto& layer : keys_) bytes += layer.bytes();
        return 2 * bytes;
    }
    int64_t max_chunk() const override { return kMaxChunk; }
    KvType kv_type() const override { return KvType::F16; }

  private:
    const uint64_t device_bytes_;  // first: checked before any allocation
    const HyperParams& hp_;
    const DeviceWeights& w_;
    const DeviceMatrix& output_;  // the embedding when the model ties them
    const int64_t capacity_;
    const AttentionMode mode_;
    int64_t length_ = 0;
    Stream stream_;
    CublasHandle cublas_;
    RopeTable rope_;
    DeviceBuffer<float> rope_cos_, rope_sin_;
    std::vector<DeviceBuffer<__half>> keys_, values_;
    DeviceBuffer<int32_t> tokens_;
    DeviceBuffer<float> x_, q_, k_, v_, gate_, up_, logits_;
    DeviceBuffer<__half> h_, q16_, qg16_, attn_, act_;
};

CudaSession::CudaSession(const HyperParams& hp, const DeviceWeights& weights,
                         const DeviceMatrix& output, int64_t capacity, const AttentionMode& mode)
    : device_bytes_(require_session_memory(hp, capacity, mode)),
      hp_(hp),
      w_(weights),
      output_(output),
      capacity_(capacity),
      mode_(mode),
      cublas_(stream_),
      rope_(hp, RopeTable::positions_for(capacity, mode)),
      rope_cos_(upload(rope_.cos_table(), "the RoPE table")),
      rope_sin_(upload(rope_.sin_table(), "the RoPE table")) {
    const size_t per_layer = size_t(hp.head_count_kv) * size_t(capacity) * size_t(hp.head_dim);
    for (int l = 0; l < hp.layer_count; ++l) {
        keys_.emplace_back(per_layer, "the KV cache of " + std::to_string(capacity) + " tokens");
        values_.emplace_back(per_layer, "the KV cache of " + std::to_string(capacity) + " tokens");
    }
    const size_t chunk = size_t(kMaxChunk);
    const size_t e = size_t(hp.embedding_length);
    tokens_ = DeviceBuffer<int32_t>(chunk, "activations");
    x_ = DeviceBuffer<float>(chunk * e, "activations");
    h_ = DeviceBuffer<__half>(chunk * e, "activations");
    q_ = DeviceBuffer<float>(chunk * size_t(hp.q_dim()), "activations");
    q16_ = DeviceBuffer<__half>(chunk * size_t(hp.q_dim()), "activations");
    if (!mode.is_vanilla()) qg16_ = DeviceBuffer<__half>(chunk * size_t(hp.q_dim()), "activations");
    k_ = DeviceBuffer<float>(chunk * size_t(hp.kv_dim()), "activations");
    v_ = DeviceBuffer<float>(chunk * size_t(hp.kv_dim()), "activations");
    attn_ = DeviceBuffer<__half>(chunk * size_t(hp.q_dim()), "activations");
    gate_ = DeviceBuffer<float>(chunk * size_t(hp.feed_forward_length), "activations");
    up_ = DeviceBuffer<float>(chunk * size_t(hp.feed_forward_length), "activations");
    act_ = DeviceBuffer<__half>(chunk * size_t(hp.feed_forward_length), "activations");
    logits_ = DeviceBuffer<float>(chunk * size_t(hp.vocab_size), "logits");
    // The RoPE tables went up through the legacy stream, which this session's stream does not
    // wait for.
    SE_CUDA_CHECK(cudaDeviceSynchronize());
}

void CudaSession::forward(std::span<const int32_t> tokens, int64_t logit_rows, float* logits) {
    const int n = int(tokens.size());
    if (n == 0) return;
    if (n > kMaxChunk) throw Error("forward: chunk larger than " + std::to_string(kMaxChunk));
    if (length_ + n > capacity_)
        throw Error("the session's context of " + std::to_string(capacity_) + " tokens is full");
    for (const int32_t id : tokens)
        if (id < 0 || id >= hp_.vocab_size)
            throw Error("token id " + std::to_string(id) + " is out of the vocabulary");
    const cudaStream_t stream = stream_.get();
    const cublasHandle_t blas = cublas_.get();
    const int e = hp_.embedding_length;
    const HeadShape shape{hp_.head_count, hp_.head_count_kv, hp_.head_dim};
    const RopeTables rope{rope_cos_.get(), rope_sin_.get(), rope_.pairs()};

    SE_CUDA_CHECK(cudaMemcpyAsync(tokens_.get(), tokens.data(), tokens.size_bytes(),
                                  cudaMemcpyHostToDevice, stream));
    embed(w_.embedding.data.get(), tokens_.get(), n, e, x_.get(), stream);
    for (int l = 0; l < hp_.layer_count; ++l) {
        const DeviceLayer& layer = w_.layers[size_t(l)];
        const KvCache cache{keys_[size_t(l)].get(), values_[size_t(l)].get(), capacity_};
        rms_norm_to_half(x_.get(), layer.attention_norm.get(), n, e, hp_.norm_eps, h_.get(),
                         stream);
        matmul(blas, layer.wq, h_.get(), n, q_.get(), 0.0f);
        matmul(blas, layer.wk, h_.get(), n, k_.get(), 0.0f);
        matmul(blas, layer.wv, h_.get(), n, v_.get(), 0.0f);
        rope_and_store(q_.get(), k_.get(), v_.get(), n, length_, shape, mode_, rope, q16_.get(),
                       qg16_.get(), cache, stream);
        attention(q16_.get(), qg16_.get(), cache, length_, n, shape, mode_, rope, attn_.get(),
                  stream);
        matmul(blas, layer.wo, attn_.get(), n, x_.get(), 1.0f);  // residual: x += attn Wo^T
        rms_norm_to_half(x_.get(), layer.ffn_norm.get(), n, e, hp_.norm_eps, h_.get(), stream);
        matmul(blas, layer.gate, h_.get(), n, gate_.get(), 0.0f);
        matmul(blas, layer.up, h_.get(), n, up_.get(), 0.0f);
        silu_mul_to_half(gate_.get(), up_.get(), int64_t(n) * hp_.feed_forward_length, act_.get(),
                         stream);
        matmul(blas, layer.down, act_.get(), n, x_.get(), 1.0f);  // residual: x += act Wdown^T
    }
    logit_rows = std::clamp<int64_t>(logit_rows, 0, n);
    if (logit_rows > 0) {
        const float* last = x_.get() + (n - logit_rows) * e;
        rms_norm_to_half(last, w_.output_norm.get(), int(logit_rows), e, hp_.norm_eps, h_.get(),
                         stream);
        matmul(blas, output_, h_.get(), logit_rows, logits_.get(), 0.0f);
        SE_CUDA_CHECK(cudaMemcpyAsync(logits, logits_.get(),
                                      size_t(logit_rows) * hp_.vocab_size * sizeof(float),
                                      cudaMemcpyDeviceToHost, stream));
    }
    stream_.synchronize();
    length_ += n;
}

class CudaBackend final : public detail::Backend {
  public:
    CudaBackend(const HyperParams& hp, const ModelWeights& weights) : hp_(hp) {
        if (hp.head_dim % 32 != 0 || hp.head_dim > 256)
            throw Error(
                "the CUDA backend needs a head dimension that is a multiple of 32 up to 256");
        uint64_t needed = 0;
        for (const WeightMatrix* m : weights.matrices()) needed += uint64_t(m->rows * m->cols) * 2;
        const auto [free, total] = device_memory();
        if (needed > free)
            throw OutOfMemory("out of GPU memory: the fp16 weights need " + format_bytes(needed) +
                              ", " + format_bytes(free) + " of " + format_bytes(total) +
                              " is free");
        w_.embedding = upload(weights.token_embedding);
        for (const LayerWeights& layer : weights.layers)
            w_.layers.push_back({upload(layer.attention_norm, "norm weights"),
                                 upload(layer.ffn_norm, "norm weights"), upload(layer.wq),
                                 upload(layer.wk), upload(layer.wv), upload(layer.wo),
                                 upload(layer.ffn_gate), upload(layer.ffn_up),
                                 upload(layer.ffn_down)});
        w_.output_norm = upload(weights.output_norm, "norm weights");
        // A tied output head is the embedding itself: uploaded once.
        tied_output_ = weights.output.data == weights.token_embedding.data;
        if (!tied_output_) w_.output = upload(weights.output);
        // Uploads from pageable memory may still be in flight; the sessions' own streams do not
        // wait for the legacy stream, so finish them here.
        SE_CUDA_CHECK(cudaDeviceSynchronize());
        cudaDeviceProp properties{};
        int device = 0;
        SE_CUDA_CHECK(cudaGetDevice(&device));
        SE_CUDA_CHECK(cudaGetDeviceProperties(&properties, device));
        name_ = std::string(properties.name) + " (" + format_bytes(total) + ")";
    }

    std::string device_name() const override { return name_; }

    // The device cache is F16 whatever type is asked for (kv_type() says so).
    std::unique_ptr<detail::BackendSession> new_session(int64_t context_length,
                                                        const AttentionMode& mode,
                                                        KvType /*kv_type*/) override {
        return std::make_unique<CudaSession>(hp_, w_, tied_output_ ? w_.embedding : w_.output,
                                             context_length, mode);
    }
    // K is cached once, Self-Extend or not: the device kernel turns grouped keys as it reads.
    uint64_t kv_bytes_per_token(KvType /*kv_type*/, const AttentionMode& /*mode*/) const override {
        return uint64_t(hp_.layer_count) * uint64_t(hp_.kv_dim()) * sizeof(uint16_t) * 2;
    }

  private:
    const HyperParams& hp_;
    DeviceWeights w_;
    bool tied_output_ = false;
    std::string name_;
};

}  // namespace

bool cuda_available() {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) cudaGetLastError();
    return status == cudaSuccess && count > 0;
}

std::string cuda_unavailable_reason() {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status == cudaSuccess && count > 0) return "";
    if (status != cudaSuccess) cudaGetLastError();
    // The runtime says "CUDA driver version is insufficient for CUDA runtime version" both when
    // the driver is too old and when there is no NVIDIA driver (so no GPU) at all: the kernel
    // module's /proc entry tells the two apart.
    const bool driver_loaded = std::filesystem::exists("/proc/driver/nvidia/version");
    if (status == cudaSuccess || status == cudaErrorNoDevice || !driver_loaded)
        return "No NVIDIA GPU found";
    if (status == cudaErrorInsufficientDriver)
        return "The NVIDIA driver is older than this build's CUDA runtime needs: update the driver";
    return std::string("The NVIDIA GPU cannot be used: ") + cudaGetErrorString(status);
}

std::unique_ptr<detail::Backend> make_cuda_backend(const HyperParams& hp,
                                                   const ModelWeights& weights) {
    // The kernels here run the plain Llama graph only; other graphs (biases, NEOX RoPE, fused
    // tensors, Gemma 3's sliding windows...) must not run on a GPU by accident. --device auto
    // asks the same question before it tries the GPU and falls back to the CPU with the reason.
    if (const std::string refusal = cuda_graph_refusal(hp, weights); !refusal.empty())
        throw Error(refusal);
    return std::make_unique<CudaBackend>(hp, weights);
}

}  // namespace selfextend::cuda
