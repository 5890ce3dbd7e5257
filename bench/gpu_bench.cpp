// GPU benchmark on a Llama-2-7B-shaped model with random fp16 weights made here (never on disk):
// prefill tok/s at 4k/16k/32k, vanilla vs Self-Extend (G=8, W=1024); the attention kernel alone
// against the measured fp16 matrix peak; decode tok/s at 4k/16k against the HBM bound (weights +
// KV bytes per token over the measured copy bandwidth); peak device memory of a 32k prefill.
// Prints a short table last. Needs a CUDA device.
#include <cublas_v2.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_resources.h"
#include "backend/cuda/kernels.h"
#include "backend/rope_table.h"
#include "gguf/dtype.h"
#include "selfextend/attention_mode.h"

using namespace selfextend;
using Clock = std::chrono::steady_clock;

namespace {

HyperParams llama2_7b_shape() {
    HyperParams hp;
    hp.architecture = "llama";
    hp.context_length = 4096;
    hp.embedding_length = 4096;
    hp.layer_count = 32;
    hp.head_count = 32;
    hp.head_count_kv = 32;
    hp.head_dim = 128;
    hp.rope_dimensions = 128;
    hp.feed_forward_length = 11008;
    hp.vocab_size = 32000;
    return hp;
}

// Random fp16 matrices, one buffer per shape shared by every layer (the values do not matter
// for timing, and it keeps the host side small).
struct SyntheticWeights {
    std::vector<std::vector<uint16_t>> storage;
    ModelWeights weights;

    WeightMatrix matrix(const std::string& name, int64_t rows, int64_t cols, std::mt19937& rng) {
        const std::vector<uint16_t>* buffer = nullptr;
        for (const auto& s : storage)  // reuse a buffer of this size
            if (int64_t(s.size()) == rows * cols) buffer = &s;
        if (!buffer) {
            std::normal_distribution<float> normal(0.0f, 0.02f);
            auto& s = storage.emplace_back(size_t(rows * cols));
            for (auto& h : s) h = float_to_half(normal(rng));
            buffer = &s;
        }
        return {name,
                &dtype_traits(DType::F16),
                reinterpret_cast<const uint8_t*>(buffer->data()),
                rows,
                cols,
                cols * 2};
    }

    explicit SyntheticWeights(const HyperParams& hp) {
        storage.reserve(8);
        std::mt19937 rng(7);
        const int64_t e = hp.embedding_length, f = hp.feed_forward_length;
        weights.token_embedding = matrix("token_embd", hp.vocab_size, e, rng);
        weights.output = weights.token_embedding;
        weights.output_norm.assign(size_t(e), 1.0f);
        for (int l = 0; l < hp.layer_count; ++l) {
            LayerWeights layer;
            layer.attention_norm.assign(size_t(e), 1.0f);
            layer.ffn_norm.assign(size_t(e), 1.0f);
            layer.wq = layer.wk = layer.wv = layer.wo = matrix("attn", e, e, rng);
            layer.ffn_gate = layer.ffn_up = matrix("ffn_up", f, e, rng);
            layer.ffn_down = matrix("ffn_down", e, f, rng);
            weights.layers.push_back(std::move(layer));
        }
    }
};

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

double used_device_gib() {
    const auto [free, total] = cuda::device_memory();
    return double(total - free) / double(1ull << 30);
}

// Device-to-device copy bandwidth, bytes read + written per second.
double copy_bandwidth() {
    const size_t bytes = size_t(2) << 30;
    cuda::DeviceBuffer<float> a(bytes / 4, "bandwidth test"), b(bytes / 4, "bandwidth test");
    SE_CUDA_CHECK(cudaMemset(a.get(), 1, bytes));
    SE_CUDA_CHECK(cudaMemcpy(b.get(), a.get(), bytes, cudaMemcpyDeviceToDevice));
    SE_CUDA_CHECK(cudaDeviceSynchronize());
    const auto start = Clock::now();
    const int repeats = 10;
    for (int r = 0; r < repeats; ++r)
        SE_CUDA_CHECK(cudaMemcpy(b.get(), a.get(), bytes, cudaMemcpyDeviceToDevice));
    SE_CUDA_CHECK(cudaDeviceSynchronize());
    return 2.0 * bytes * repeats / seconds_since(start);
}

// fp16 matrix product rate (fp32 accumulation) through cuBLAS, FLOP/s.
double matmul_peak() {
    const int n = 8192;
    cuda::DeviceBuffer<__half> a(size_t(n) * n, "peak test"), b(size_t(n) * n, "peak test");
    cuda::DeviceBuffer<float> c(size_t(n) * n, "peak test");
    std::vector<uint16_t> random(size_t(n) * n);
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    for (auto& h : random) h = float_to_half(normal(rng));
    SE_CUDA_CHECK(cudaMemcpy(a.get(), random.data(), a.bytes(), cudaMemcpyHostToDevice));
    SE_CUDA_CHECK(cudaMemcpy(b.get(), random.data(), b.bytes(), cudaMemcpyHostToDevice));
    cuda::Stream stream;
    cuda::CublasHandle blas(stream);
    const float alpha = 1, beta = 0;
    auto run = [&] {
        SE_CUBLAS_CHECK(cublasGemmEx(blas.get(), CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, a.get(),
                                     CUDA_R_16F, n, b.get(), CUDA_R_16F, n, &beta, c.get(),
                                     CUDA_R_32F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    };
    run();
    stream.synchronize();
    const int repeats = 10;
    const auto start = Clock::now();
    for (int r = 0; r < repeats; ++r) run();
    stream.synchronize();
    return 2.0 * n * n * double(n) * repeats / seconds_since(start);
}

// The attention kernel alone on n tokens of random data; FLOP/s counting QK and PV of the causal
// half.
double attention_rate(const HyperParams& hp, int n, const AttentionMode& mode) {
    const RopeTable table(hp, RopeTable::positions_for(n, mode));
    cuda::DeviceBuffer<float> cos(table.cos_table().size(), "rope"),
        sin(table.sin_table().size(), "rope");
    SE_CUDA_CHECK(
        cudaMemcpy(cos.get(), table.cos_table().data(), cos.bytes(), cudaMemcpyHostToDevice));
    SE_CUDA_CHECK(
        cudaMemcpy(sin.get(), table.sin_table().data(), sin.bytes(), cudaMemcpyHostToDevice));
    const size_t q_size = size_t(n) * hp.q_dim(), kv_size = size_t(n) * hp.kv_dim();
    std::vector<uint16_t> random(std::max(q_size, kv_size));
    std::mt19937 rng(3);
    std::normal_distribution<float> normal;
    for (auto& h : random) h = float_to_half(normal(rng));
    cuda::DeviceBuffer<__half> q(q_size, "q"), qg(q_size, "q"), k(kv_size, "k"), v(kv_size, "v"),
        out(q_size, "out");
    for (auto* buffer : {&q, &qg, &k, &v})
        SE_CUDA_CHECK(
            cudaMemcpy(buffer->get(), random.data(), buffer->bytes(), cudaMemcpyHostToDevice));
    const cuda::HeadShape shape{hp.head_count, hp.head_count_kv, hp.head_dim};
    const cuda::RopeTables rope{cos.get(), sin.get(), table.pairs()};
    const cuda::KvCache cache{k.get(), v.get(), n};
    cuda::Stream stream;
    cuda::attention(q.get(), qg.get(), cache, 0, n, shape, mode, rope, out.get(), stream.get());
    stream.synchronize();
    const auto start = Clock::now();
    cuda::attention(q.get(), qg.get(), cache, 0, n, shape, mode, rope, out.get(), stream.get());
    stream.synchronize();
    const double flops = 4.0 * hp.head_count * hp.head_dim * (double(n) * (n + 1) / 2);
    return flops / seconds_since(start);
}

}  // namespace

int main() {
    if (!cuda::cuda_available()) {
        std::printf("no CUDA device: %s\n", cuda::cuda_unavailable_reason().c_str());
        return 77;
    }
    try {
        const HyperParams hp = llama2_7b_shape();
        std::printf("building a Llama-2-7B-shaped model with random fp16 weights...\n");
        const SyntheticWeights synthetic(hp);
        auto backend = cuda::make_cuda_backend(hp, synthetic.weights);
        std::printf("device %s, weights on device: %.1f GiB used\n", backend->device_name().c_str(),
                    used_device_gib());
        const double bandwidth = copy_bandwidth();
        const double peak = matmul_peak();
        std::printf("measured: copy %.0f GB/s (read + write), fp16 GEMM %.0f TFLOP/s\n",
                    bandwidth / 1e9, peak / 1e12);

        const AttentionMode extended = AttentionMode::self_extend(8, 1024);
        std::vector<std::string> table;
        std::mt19937 rng(5);
        std::uniform_int_distribution<int32_t> pick(3, hp.vocab_size - 1);
        std::vector<float> logits(size_t(hp.vocab_size));
        double peak_32k = 0;
        for (const int length : {4096, 16384, 32768}) {
            double rate[2] = {};
            int m = 0;
            // G = 8, W = 1024 covers 25 600 tokens; longer prompts take the smallest group that
            // covers them, so that every measured setting is one a user could run.
            const int group = std::max(8, smallest_group(hp.context_length, 1024, length + 32));
            const AttentionMode length_mode = AttentionMode::self_extend(group, 1024);
            for (const AttentionMode& mode : {AttentionMode::vanilla(), length_mode}) {
                const int decode_steps = 32;
                auto session =
                    backend->new_session(length + decode_steps, mode, selfextend::KvType::F16);
                std::vector<int32_t> tokens(static_cast<size_t>(length));
                for (auto& t : tokens) t = pick(rng);
                const auto start = Clock::now();
                for (int done = 0; done < length; done += int(session->max_chunk())) {
                    const int count = std::min<int>(int(session->max_chunk()), length - done);
                    session->forward(std::span(tokens).subspan(size_t(done), size_t(count)),
                                     done + count == length ? 1 : 0, logits.data());
                }
                rate[m] = length / seconds_since(start);
                if (length == 32768) peak_32k = std::max(peak_32k, used_device_gib());
                char line[160];
                std::snprintf(line, sizeof line, "prefill %5d %-24s %9.0f tok/s", length,
                              mode.describe().c_str(), rate[m]);
                table.emplace_back(line);
                if (length <= 16384) {  // decode against the bandwidth bound
                    const auto decode_start = Clock::now();
                    for (int s = 0; s < decode_steps; ++s) {
                        const int32_t next = pick(rng);
                        session->forward(std::span(&next, 1), 1, logits.data());
                    }
                    const double tok_s = decode_steps / seconds_since(decode_start);
                    const double kv_bytes =
                        double(hp.layer_count) * 2 * hp.kv_dim() * (length + decode_steps / 2) * 2;
                    const double weight_bytes =
                        2.0 *
                            (4.0 * hp.embedding_length * hp.embedding_length +
                             3.0 * hp.embedding_length * hp.feed_forward_length) *
                            hp.layer_count +
                        2.0 * hp.vocab_size * hp.embedding_length;
                    const double bound =
                        bandwidth / (weight_bytes + kv_bytes);  // bytes moved per token
                    std::snprintf(line, sizeof line,
                                  "decode  %5d %-24s %9.1f tok/s  (%.0f%% of the %.1f tok/s bound)",
                                  length, mode.describe().c_str(), tok_s, 100 * tok_s / bound,
                                  bound);
                    table.emplace_back(line);
                }
                ++m;
            }
            char line[160];
            std::snprintf(line, sizeof line, "prefill %5d self-extend / vanilla throughput: %.2fx",
                          length, rate[1] / rate[0]);
            table.emplace_back(line);
        }
        for (const AttentionMode& mode : {AttentionMode::vanilla(), extended}) {
            const double rate = attention_rate(hp, 16384, mode);
            char line[160];
            std::snprintf(line, sizeof line,
                          "attention kernel 16k %-20s %7.1f TFLOP/s (%.1f%% of fp16 GEMM peak)",
                          mode.describe().c_str(), rate / 1e12, 100 * rate / peak);
            table.emplace_back(line);
        }
        table.emplace_back("two-pass (neighbour + group, LSE-merged) variant: not implemented yet");
        char line[160];
        std::snprintf(line, sizeof line, "peak device memory during a 32k prefill: %.1f GiB",
                      peak_32k);
        table.emplace_back(line);
        std::printf("\n== GPU benchmark (%s) ==\n", backend->device_name().c_str());
        for (const auto& row : table) std::printf("%s\n", row.c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "gpu bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
