// GPU checks, Qt-free so they run on the device machine (which has no Qt): the CUDA attention
// kernel against the float64 reference, and the CUDA backend against the CPU backend on the
// demo model (logits, pass key, perplexity). Exit 77 (skipped) when no CUDA device is present.
#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "attention_reference.h"
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_resources.h"
#include "backend/cuda/kernels.h"
#include "backend/rope_table.h"
#include "gguf/dtype.h"
#include "selfextend/document.h"
#include "selfextend/engine.h"
#include "selfextend/evaluation.h"

using namespace selfextend;

namespace {

constexpr int kSkipped = 77;

struct Outcome {
    int passed = 0, failed = 0;
    void check(bool ok, const std::string& what) {
        std::printf("%s  %s\n", ok ? "PASS" : "FAIL", what.c_str());
        (ok ? passed : failed)++;
    }
};

template <typename T>
cuda::DeviceBuffer<T> to_device(const std::vector<T>& host) {
    cuda::DeviceBuffer<T> buffer(host.size(), "test data");
    SE_CUDA_CHECK(
        cudaMemcpy(buffer.get(), host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
    // Pageable copies may still be in flight; the test's streams do not wait for the legacy one.
    SE_CUDA_CHECK(cudaDeviceSynchronize());
    return buffer;
}

// Runs rope_and_store + attention for the queries from `first` on, with all n keys cached:
// first = 0 is a prefill (the tiled kernel from 8 rows on), first = n - 1 a decode step (a warp
// per row). Returns the worst |out - reference| over those rows.
double attention_error(const testing::AttentionProblem& p, int first) {
    HyperParams hp;
    hp.head_count = p.heads;
    hp.head_count_kv = p.kv_heads;
    hp.head_dim = p.head_dim;
    hp.rope_dimensions = p.head_dim;
    hp.rope_freq_base = float(testing::kReferenceRopeBase);
    const AttentionMode mode =
        p.G > 1 ? AttentionMode::self_extend(p.G, p.W) : AttentionMode::vanilla();
    const RopeTable table(hp, RopeTable::positions_for(p.n, mode));
    const auto cos = to_device(table.cos_table());
    const auto sin = to_device(table.sin_table());
    const cuda::RopeTables rope{cos.get(), sin.get(), table.pairs()};
    const cuda::HeadShape shape{p.heads, p.kv_heads, p.head_dim};

    const std::vector<float> q(p.q.begin(), p.q.end()), k(p.k.begin(), p.k.end()),
        v(p.v.begin(), p.v.end());
    const auto dq = to_device(q), dk = to_device(k), dv = to_device(v);
    const size_t cache_size = size_t(p.kv_heads) * p.n * p.head_dim;
    cuda::DeviceBuffer<__half> keys(cache_size, "cache"), values(cache_size, "cache");
    cuda::DeviceBuffer<__half> q16(q.size(), "q"), qg16(q.size(), "q"), out(q.size(), "out");
    const cuda::KvCache cache{keys.get(), values.get(), p.n};
    cuda::Stream stream;
    cuda::rope_and_store(dq.get(), dk.get(), dv.get(), p.n, 0, shape, mode, rope, q16.get(),
                         qg16.get(), cache, stream.get());
    // Poison the output so unwritten elements show.
    SE_CUDA_CHECK(cudaMemsetAsync(out.get(), 0xff, out.bytes(), stream.get()));
    const size_t row = size_t(p.heads) * p.head_dim;
    cuda::attention(q16.get() + first * row, qg16.get() + first * row, cache, first, p.n - first,
                    shape, mode, rope, out.get(), stream.get());
    stream.synchronize();
    std::vector<uint16_t> result(size_t(p.n - first) * row);
    SE_CUDA_CHECK(cudaMemcpy(result.data(), out.get(), result.size() * sizeof(uint16_t),
                             cudaMemcpyDeviceToHost));
    const std::vector<double> expected = p.reference();
    double worst = 0;
    for (size_t x = 0; x < result.size(); ++x) {
        const double value = half_to_float(result[x]);
        if (!std::isfinite(value)) return INFINITY;
        worst = std::max(worst, std::abs(value - expected[first * row + x]));
    }
    return worst;
}

double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
    double worst = 0, scale = 0;
    for (size_t x = 0; x < a.size(); ++x) {
        worst = std::max(worst, double(std::abs(a[x] - b[x])));
        scale = std::max(scale, double(std::abs(b[x])));
    }
    return worst / scale;
}

}  // namespace

int main(int argc, char** argv) {
    if (!cuda::cuda_available()) {
        std::printf("SKIP  no CUDA device: %s\n", cuda::cuda_unavailable_reason().c_str());
        return kSkipped;
    }
    const std::string model_path = argc > 1 ? argv[1] : SE_DEMO_MODEL;
    const std::string document_path = argc > 2 ? argv[2] : SE_SAMPLE_DOCUMENT;
    Outcome outcome;
    try {
        // 1. The kernel against float64, across shapes and tile edges (fp16 inputs: 2e-2 absolute).
        struct Case {
            int n, heads, kv, d, G, W;
        };
        const Case cases[] = {{1, 1, 1, 64, 2, 4},     {70, 4, 2, 64, 1, 0},
                              {33, 4, 1, 64, 3, 7},    {100, 8, 2, 128, 4, 16},
                              {129, 2, 2, 256, 8, 32}, {200, 4, 4, 64, 16, 0},
                              {64, 2, 1, 128, 2, 500}, {257, 8, 1, 64, 5, 33}};
        for (const Case& c : cases) {
            const testing::AttentionProblem problem(c.n, c.heads, c.kv, c.d, c.G, c.W,
                                                    uint32_t(c.n * 7 + c.G));
            // A prefill (the tiled kernel from 8 rows), 7 rows and the last row alone (a warp per
            // row). fp16 inputs: the correct kernel's worst error is ~1.5e-3.
            for (const int first : {0, std::max(0, c.n - 7), c.n - 1}) {
                const double error = attention_error(problem, first);
                const int rows = c.n - first;
                outcome.check(error < 5e-3,
                              std::string(rows >= 8 ? "attention tiled" : "attention per-row") +
                                  " rows=" + std::to_string(rows) + " n=" + std::to_string(c.n) +
                                  " heads=" + std::to_string(c.heads) + "/" + std::to_string(c.kv) +
                                  " d=" + std::to_string(c.d) + " G=" + std::to_string(c.G) +
                                  " W=" + std::to_string(c.W) + ": max error " +
                                  std::to_string(error));
            }
        }

        // 2. Whole-model logits, CUDA against CPU (vanilla and Self-Extend past the window).
        auto gpu = Model::load(model_path, {.device = Device::Cuda});
        auto cpu = Model::load(model_path, {.device = Device::Cpu});
        std::printf("device: %s\n", gpu->info().device.c_str());
        const std::string text = load_text_document(document_path).text;
        std::vector<int32_t> tokens = cpu->tokenize(text, true);
        tokens.resize(std::min<size_t>(tokens.size(), 1200));
        for (const AttentionMode mode :
             {AttentionMode::vanilla(), AttentionMode::self_extend(4, 256)}) {
            const auto a = gpu->new_session({int64_t(tokens.size()), mode})->logits_for(tokens);
            const auto b = cpu->new_session({int64_t(tokens.size()), mode})->logits_for(tokens);
            const double difference = relative_difference(a, b);
            outcome.check(
                difference <= 2e-2,
                "logits " + mode.describe() + ", " + std::to_string(tokens.size()) +
                    " tokens: max |gpu - cpu| / max |cpu| = " + std::to_string(difference));
        }

        // 3. Pass key and perplexity agree with the CPU.
        PasskeyOptions options;
        options.lengths = {1000};
        options.depths = {0.1, 0.3, 0.5, 0.7, 0.9};
        options.modes = {AttentionMode::vanilla(), AttentionMode::self_extend(4, 256)};
        const auto on_gpu = run_passkey(*gpu, options);
        const auto on_cpu = run_passkey(*cpu, options);
        // fp16 against fp32 may flip a borderline depth: allow one trial of difference.
        for (size_t r = 0; r < on_gpu.size(); ++r)
            outcome.check(std::abs(on_gpu[r].correct - on_cpu[r].correct) <= 1,
                          "pass key " + on_gpu[r].mode.describe() + ": gpu " +
                              std::to_string(on_gpu[r].correct) + "/5, cpu " +
                              std::to_string(on_cpu[r].correct) + "/5");
        const std::vector<int32_t> text_tokens = cpu->tokenize(text, false);
        const auto ppl_gpu =
            run_perplexity(*gpu, text_tokens, 1024, 1, AttentionMode::self_extend(4, 128));
        const auto ppl_cpu =
            run_perplexity(*cpu, text_tokens, 1024, 1, AttentionMode::self_extend(4, 128));
        outcome.check(std::abs(ppl_gpu.perplexity - ppl_cpu.perplexity) < 0.01 * ppl_cpu.perplexity,
                      "perplexity@1024 G4 W128: gpu " + std::to_string(ppl_gpu.perplexity) +
                          ", cpu " + std::to_string(ppl_cpu.perplexity));

        // 4. Out of memory is an error, not a crash, and the device stays usable.
        bool refused = false;
        try {
            gpu->new_session({int64_t(1) << 31, AttentionMode::vanilla()});
        } catch (const OutOfMemory& e) {
            refused = std::string(e.what()).find("free") != std::string::npos;
            std::printf("      (%s)\n", e.what());
        }
        outcome.check(refused, "an oversized KV cache is refused with the bytes needed and free");
        // A real failed cudaMalloc (past the free memory) is OutOfMemory too.
        bool malloc_refused = false;
        try {
            const auto [free, total] = cuda::device_memory();
            cuda::DeviceBuffer<float> too_big(free / sizeof(float) + (size_t(1) << 28),
                                              "a test buffer");
        } catch (const OutOfMemory& e) {
            malloc_refused = true;
            std::printf("      (%s)\n", e.what());
        }
        outcome.check(malloc_refused, "a cudaMalloc past the free memory throws OutOfMemory");
        const auto after = gpu->new_session({64, AttentionMode::vanilla()});
        after->prefill(std::vector<int32_t>(tokens.begin(), tokens.begin() + 16));
        outcome.check(!after->last_logits().empty(), "the device works after the refusal");
    } catch (const std::exception& e) {
        outcome.check(false, std::string("exception: ") + e.what());
    }
    std::printf("%d passed, %d failed\n", outcome.passed, outcome.failed);
    return outcome.failed == 0 ? 0 : 1;
}
