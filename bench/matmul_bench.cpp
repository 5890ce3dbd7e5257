// CPU matrix products per stored type on synthetic weights (random normal values stored through
// the GGUF writer, so the bytes are what a file holds): microseconds per call (median and best of
// 40 short runs: the best is what the code costs when other processes leave the cores alone) and
// the weight bytes streamed per second, for the decode path (1 token) or a prefill chunk.
//
//   se-matmul-bench [-t THREADS] [--tokens N] [--types Q4_1,Q8_0,...] [--shape ROWSxCOLS ...]
//
// Default shapes: one SmolLM2-135M layer's matrices and its output projection, and a
// 4096 x 4096 matrix (a 7B model's attention projection, larger than the caches).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/matmul.h"
#include "backend/cpu/thread_pool.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"

using namespace selfextend;
using Clock = std::chrono::steady_clock;

namespace {

struct Shape {
    int64_t rows, cols;
};

// A matrix of the given type held in a parsed in-memory GGUF file.
struct BenchMatrix {
    std::vector<uint8_t> file;
    std::optional<GgufFile> gguf;
    WeightMatrix w;
};

BenchMatrix make_matrix(DType type, Shape shape, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    std::vector<float> values(size_t(shape.rows * shape.cols));
    for (float& v : values) v = normal(rng);
    GgufWriter writer;
    writer.add_tensor_from_floats("w", type, {shape.cols, shape.rows}, values);
    BenchMatrix m{writer.to_bytes(), std::nullopt, {}};
    m.gguf.emplace(GgufFile::parse(m.file));
    const GgufTensor& t = *m.gguf->find_tensor("w");
    m.w = {"w", t.dtype, t.data, shape.rows, shape.cols, row_bytes(*t.dtype, shape.cols)};
    return m;
}

struct Timing {
    double median;  // seconds per call over 40 runs of about 2 ms
    double best;    // the fastest of those runs: what the code costs when nothing else runs
};

Timing time_calls(const WeightMatrix& w, const std::vector<float>& x, int64_t tokens,
                  std::vector<float>& y, cpu::ThreadPool& pool) {
    cpu::matmul(w, x.data(), tokens, y.data(), pool);  // warm up
    auto start = Clock::now();
    int calls = 0;
    while (std::chrono::duration<double>(Clock::now() - start).count() < 0.002) {
        cpu::matmul(w, x.data(), tokens, y.data(), pool);
        ++calls;
    }
    std::vector<double> runs;
    for (int rep = 0; rep < 40; ++rep) {
        start = Clock::now();
        for (int k = 0; k < calls; ++k) cpu::matmul(w, x.data(), tokens, y.data(), pool);
        runs.push_back(std::chrono::duration<double>(Clock::now() - start).count() / calls);
    }
    std::sort(runs.begin(), runs.end());
    return {runs[runs.size() / 2], runs.front()};
}

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t end = std::min(text.find(separator, start), text.size());
        if (end > start) parts.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return parts;
}

}  // namespace

int main(int argc, char** argv) {
    int threads = 2;
    int64_t tokens = 1;
    std::vector<std::string> types = {"F16",  "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
                                      "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"};
    std::vector<Shape> shapes;
    for (int k = 1; k < argc; ++k) {
        const std::string arg = argv[k];
        const char* value = k + 1 < argc ? argv[k + 1] : nullptr;
        if (arg == "-t" && value) {
            threads = std::atoi(value), ++k;
        } else if (arg == "--tokens" && value) {
            tokens = std::atoll(value), ++k;
        } else if (arg == "--types" && value) {
            types = split(value, ','), ++k;
        } else if (arg == "--shape" && value) {
            const auto parts = split(value, 'x');
            if (parts.size() != 2) return std::fprintf(stderr, "bad shape %s\n", value), 2;
            shapes.push_back({std::atoll(parts[0].c_str()), std::atoll(parts[1].c_str())});
            ++k;
        } else {
            std::fprintf(stderr,
                         "usage: se-matmul-bench [-t THREADS] [--tokens N] [--types A,B] "
                         "[--shape ROWSxCOLS]...\n");
            return 2;
        }
    }
    if (shapes.empty())
        shapes = {{576, 576}, {192, 576}, {1536, 576}, {576, 1536}, {49152, 576}, {4096, 4096}};

    cpu::ThreadPool pool(threads);
    std::printf("%d threads, %lld token(s) per call\n", threads, static_cast<long long>(tokens));
    std::printf("%-6s %13s %11s %11s %9s\n", "type", "shape", "median us", "best us", "best GB/s");
    for (const std::string& name : types) {
        const DTypeTraits* traits = nullptr;
        for (const DTypeTraits& t : supported_dtypes())
            if (t.name == name) traits = &t;
        if (!traits) return std::fprintf(stderr, "unknown type %s\n", name.c_str()), 2;
        for (const Shape& shape : shapes) {
            if (shape.cols % traits->block_size != 0) continue;
            const BenchMatrix m = make_matrix(traits->type, shape, 7);
            std::vector<float> x(size_t(tokens * shape.cols), 0.5f);
            for (size_t k = 0; k < x.size(); ++k) x[k] = float(int(k % 17) - 8) * 0.1f;
            std::vector<float> y(size_t(tokens * shape.rows));
            const Timing timing = time_calls(m.w, x, tokens, y, pool);
            const std::string dims = std::to_string(shape.rows) + "x" + std::to_string(shape.cols);
            std::printf("%-6s %13s %11.1f %11.1f %9.1f\n", name.c_str(), dims.c_str(),
                        timing.median * 1e6, timing.best * 1e6,
                        double(m.w.bytes()) / timing.best / 1e9);
        }
    }
    return 0;
}
