// The CPU matrix products for every stored type, on both paths (dot products from stored rows
// for a few tokens, converted panels for many), against float64 sums of the weights decoded here
// (block_reference.h for the quantized types); and hyper-parameter reading (RoPE scaling, bad
// metadata).
#include <QtTest>
#include <cmath>
#include <optional>
#include <random>

#include "backend/cpu/integer_matmul.h"
#include "backend/cpu/kernels.h"
#include "backend/cpu/quantized_dot.h"
#include "backend/cpu/thread_pool.h"
#include "backend/rope_table.h"
#include "block_reference.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "model/hyper_params.h"
#include "test_paths.h"

using namespace selfextend;

namespace {

// A weight matrix stored as `type`, built through the GGUF writer so its bytes are what a file
// holds.
struct StoredMatrix {
    std::vector<uint8_t> file;
    std::optional<GgufFile> gguf;  // parses `file`, which must outlive it
    WeightMatrix matrix;
    std::vector<double> dequantized;  // what the stored values mean, row-major
};

StoredMatrix make_matrix(DType type, int64_t rows, int64_t cols, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> values(size_t(rows * cols));
    for (float& v : values) v = normal(rng);
    GgufWriter writer;
    writer.add_tensor_from_floats("w", type, {cols, rows}, values);
    StoredMatrix m{writer.to_bytes(), std::nullopt, {}, {}};
    m.gguf.emplace(GgufFile::parse(m.file));
    const GgufTensor& t = *m.gguf->find_tensor("w");
    m.matrix = {"w", t.dtype, t.data, rows, cols, row_bytes(*t.dtype, cols)};
    // The meaning of the stored bytes, decoded here from the formats' definitions.
    m.dequantized.resize(values.size());
    for (int64_t r = 0; r < rows; ++r) {
        const uint8_t* row = m.matrix.row(r);
        for (int64_t c = 0; c < cols; ++c) {
            double value = 0;
            uint16_t h = 0;
            switch (type) {
                case DType::F32: {
                    float f;
                    std::memcpy(&f, row + 4 * c, 4);
                    value = f;
                    break;
                }
                case DType::F16:
                    std::memcpy(&h, row + 2 * c, 2);
                    value = half_to_float(h);
                    break;
                case DType::BF16: {
                    std::memcpy(&h, row + 2 * c, 2);
                    const uint32_t bits = uint32_t(h) << 16;
                    float f;
                    std::memcpy(&f, &bits, 4);
                    value = f;
                    break;
                }
                default: {  // a quantized type: the float64 decoder of block_reference.h
                    const testing::BlockFormat& f = *testing::block_format(uint32_t(type));
                    value = testing::reference_value(uint32_t(type), row + (c / f.values) * f.bytes,
                                                     int(c % f.values));
                    break;
                }
            }
            m.dequantized[size_t(r * cols + c)] = value;
        }
    }
    return m;
}

}  // namespace

class TestMatmul : public QObject {
    Q_OBJECT
  private slots:
    void everyTypeBothPaths_data() {
        QTest::addColumn<int>("type");
        QTest::addColumn<int>("rows");
        QTest::addColumn<int>("cols");
        QTest::addColumn<int>("tokens");
        for (const DTypeTraits& traits : supported_dtypes()) {
            // Row lengths of 2-3 blocks of 32 or of 1-3 super-blocks of 256.
            const auto shapes =
                traits.block_size == 256
                    ? std::vector<std::pair<int, int>>{{70, 256}, {33, 768}, {97, 512}}
                    : std::vector<std::pair<int, int>>{{70, 64}, {33, 256}, {256, 96}};
            for (const int tokens : {1, 3, 4, 7, 13})
                for (const auto& [rows, cols] : shapes)
                    QTest::newRow(qPrintable(QString("%1 %2x%3 n=%4")
                                                 .arg(traits.name.data())
                                                 .arg(rows)
                                                 .arg(cols)
                                                 .arg(tokens)))
                        << int(traits.type) << rows << cols << tokens;
        }
    }

    void everyTypeBothPaths() {
        // Float types compute in float: within float rounding of the exact sum. The quantized
        // types round the activations to 16-bit integers in blocks: on the decode path (up to 3
        // tokens; quantized_dot.h: 32 values for the legacy types, 256 for the k-quants, |q| <=
        // 32 767), and on the prefill path where the kernels multiply in integers
        // (integer_matmul.h: blocks of 32, |q| <= 16 383); elsewhere prefill is float. Rounding
        // moves each product by at most |w| * s / 2, s = max |x| / limit over the block of x:
        // that bound (about 5e-5 of the sum of |w x|) plus float rounding is checked here, so a
        // wrong code, scale or offset cannot hide in it.
        QFETCH(int, type);
        QFETCH(int, rows);
        QFETCH(int, cols);
        QFETCH(int, tokens);
        const StoredMatrix m =
            make_matrix(DType(type), rows, cols, uint32_t(rows * 31 + cols + tokens));
        std::mt19937 rng(99);
        std::normal_distribution<float> normal(0.0f, 1.0f);
        std::vector<float> x(size_t(tokens * cols));
        for (float& v : x) v = normal(rng);
        std::vector<float> y(size_t(tokens * rows),
                             NAN);  // poisoned: every element must be written
        cpu::ThreadPool pool(2);
        cpu::kernels().matmul(m.matrix, x.data(), tokens, y.data(), pool);
        const bool float_type =
            DType(type) == DType::F32 || DType(type) == DType::F16 || DType(type) == DType::BF16;
        const bool decode_path = tokens <= 3;
        const bool integer_activations =
            !float_type && (decode_path || (cpu::kernels().integer_prefill &&
                                            cpu::multiplies_in_integers(DType(type))));
        // Half the rounding step of each block of activations.
        const size_t block = decode_path ? size_t(cpu::activation_block(DType(type))) : 32;
        const double limit = decode_path ? 32767 : cpu::kIntegerMatmulActivationLimit;
        std::vector<double> half_step(x.size() / block);
        for (size_t b = 0; b < half_step.size(); ++b) {
            double amax = 0;
            for (size_t k = 0; k < block; ++k)
                amax = std::max(amax, std::abs(double(x[b * block + k])));
            half_step[b] = amax / limit / 2;
        }
        double worst = 0, worst_vs_bound = 0, typical = 0;
        for (int t = 0; t < tokens; ++t)
            for (int r = 0; r < rows; ++r) {
                double expected = 0, magnitude = 0, rounding = 0;
                for (int c = 0; c < cols; ++c) {
                    const double w = m.dequantized[size_t(r * cols + c)];
                    const double xv = x[size_t(t * cols + c)];
                    expected += w * xv;
                    magnitude += std::abs(w * xv);
                    if (integer_activations)
                        rounding += std::abs(w) * half_step[size_t(t * cols + c) / block];
                }
                const double got = y[size_t(t * rows + r)];
                QVERIFY2(std::isfinite(got), "an output was not written");
                const double error = std::abs(got - expected);
                const double bound = rounding * (1 + 1e-4) + 1e-5 * magnitude;
                QVERIFY2(error <= bound || !integer_activations,
                         qPrintable(QString("row %1 token %2: error %3 above the bound %4")
                                        .arg(r)
                                        .arg(t)
                                        .arg(error)
                                        .arg(bound)));
                worst = std::max(worst, error / (magnitude + 1e-6));
                worst_vs_bound = std::max(worst_vs_bound, error / bound);
                typical += error / (magnitude + 1e-6) / double(tokens * rows);
            }
        if (integer_activations)
            qInfo(
                "int16 activations: relative error worst %.2e, mean %.2e; worst %.2f of the "
                "bound",
                worst, typical, worst_vs_bound);
        else
            QVERIFY2(worst < 1e-5, qPrintable(QString("relative error %1").arg(worst)));
    }

    void integerSumsHoldTheLargestProducts() {
        // The integer prefill's worst case (integer_matmul.h): Q6_K codes -32 under sub-block
        // scales -128 (code x scale = 4 096 in every value) against activations that all round to
        // the limit. 32 such products per block must not overflow 32 bits: every output is
        // d * 4 096 * 256 exactly, whichever path the kernels take.
        constexpr int64_t rows = 40, cols = 512, tokens = 7;
        BlockQ6_K block{};
        for (int8_t& s : block.scales) s = -128;
        block.scale = 0x3c00;  // f16 1.0; low and high bits 0: every q is 0, value -32 * scale
        std::vector<uint8_t> bytes(size_t(rows * cols / kSuperBlock) * sizeof block);
        for (size_t b = 0; b < bytes.size(); b += sizeof block)
            std::memcpy(&bytes[b], &block, sizeof block);
        const WeightMatrix w{"w",          &dtype_traits(DType::Q6_K),
                             bytes.data(), rows,
                             cols,         int64_t(cols / kSuperBlock * sizeof block)};
        const std::vector<float> x(size_t(tokens * cols), 3.0f);
        std::vector<float> y(size_t(tokens * rows), NAN);
        cpu::ThreadPool pool(2);
        for (const int64_t n : {int64_t(1), tokens}) {
            cpu::kernels().matmul(w, x.data(), n, y.data(), pool);
            for (int64_t i = 0; i < n * rows; ++i)
                QCOMPARE(double(y[size_t(i)]), 4096.0 * 3.0 * double(cols));
        }
    }

    // Gemma 3's metadata (the keys of the real 270M file): the head dimension from key_length,
    // five local layers in six with their window and RoPE base, Self-Extend on the others.
    void gemma3HyperParams() {
        auto params = [](const std::function<void(GgufWriter&)>& edit) {
            GgufWriter w;
            w.set_string("general.architecture", "gemma3");
            w.set_uint32("gemma3.context_length", 32768);
            w.set_uint32("gemma3.embedding_length", 640);
            w.set_uint32("gemma3.block_count", 18);
            w.set_uint32("gemma3.attention.head_count", 4);
            w.set_uint32("gemma3.attention.head_count_kv", 1);
            w.set_uint32("gemma3.attention.key_length", 256);
            w.set_uint32("gemma3.attention.value_length", 256);
            w.set_uint32("gemma3.attention.sliding_window", 512);
            w.set_float32("gemma3.rope.freq_base", 1e6f);
            w.set_uint32("gemma3.feed_forward_length", 2048);
            w.set_uint32("gemma3.vocab_size", 100);
            edit(w);
            const std::vector<uint8_t> bytes = w.to_bytes();
            return HyperParams::from_gguf(GgufFile::parse(bytes));
        };
        const HyperParams hp = params([](GgufWriter&) {});
        QVERIFY(hp.family && hp.family->graph == LayerGraph::Gemma3);
        QCOMPARE(hp.head_dim, 256);
        QCOMPARE(hp.q_dim(), 1024);
        QCOMPARE(hp.rope_dimensions, 256);
        QVERIFY(hp.rope_layout == RopeLayout::HalfSplit);
        QVERIFY(hp.activation == FfnActivation::GeluTanh);
        QVERIFY(hp.qk_norm && hp.post_norms);
        QCOMPARE(hp.embedding_scale, std::sqrt(640.0f));
        std::vector<int> global;
        for (int l = 0; l < hp.layer_count; ++l) {
            QCOMPARE(hp.key_window(l), hp.is_local(l) ? 512 : 0);
            QCOMPARE(hp.self_extend_applies(l), !hp.is_local(l));
            QCOMPARE(hp.rope(l).base, hp.is_local(l) ? 1e4f : 1e6f);
            if (!hp.is_local(l)) global.push_back(l);
        }
        QCOMPARE(global, (std::vector<int>{5, 11, 17}));
        QCOMPARE(params([](GgufWriter& w) { w.set_float32("gemma3.rope.freq_base_swa", 5e4f); })
                     .rope(0)
                     .base,
                 5e4f);
        QVERIFY_THROWS_EXCEPTION(Error, params([](GgufWriter& w) {
                                     w.set_uint32("gemma3.attention.value_length", 128);
                                 }));
    }

    // Half-split RoPE through interleave_halves: the pairs (x[k], x[k + d/2]) moved next to each
    // other and turned by the adjacent-pair table give the half-split rotation, and the dot
    // product of two vectors permuted alike is theirs.
    void halfSplitRopeByInterleaving() {
        constexpr int d = 32;
        const RopeFrequencies frequencies{d, 1e4f, 1.0f};
        const RopeTable table(frequencies, 100);
        std::vector<float> x(d), y(d);
        for (int k = 0; k < d; ++k) {
            x[size_t(k)] = std::sin(0.3f * float(k) + 1.0f);
            y[size_t(k)] = std::cos(0.7f * float(k));
        }
        const int position = 37;
        std::vector<float> turned = x;
        RopeTable::interleave_halves(turned.data(), 1, d, d);
        table.rotate(turned.data(), 1, d, position);
        for (int k = 0; k < d / 2; ++k) {
            const double angle = position * std::pow(1e4, -2.0 * k / d);
            const double a = x[size_t(k)], b = x[size_t(k + d / 2)];
            QVERIFY(std::abs(turned[size_t(2 * k)] - (a * std::cos(angle) - b * std::sin(angle))) <
                    1e-5);
            QVERIFY(std::abs(turned[size_t(2 * k + 1)] -
                             (a * std::sin(angle) + b * std::cos(angle))) < 1e-5);
        }
        std::vector<float> xi = x, yi = y;
        RopeTable::interleave_halves(xi.data(), 1, d, d);
        RopeTable::interleave_halves(yi.data(), 1, d, d);
        double dot = 0, dot_interleaved = 0;
        for (int k = 0; k < d; ++k) {
            dot += double(x[size_t(k)]) * y[size_t(k)];
            dot_interleaved += double(xi[size_t(k)]) * yi[size_t(k)];
        }
        QVERIFY(std::abs(dot - dot_interleaved) < 1e-6);
    }

    void hyperParamsAndRopeScaling() {
        auto params = [](const std::function<void(GgufWriter&)>& edit) {
            GgufWriter w;
            w.set_string("general.architecture", "llama");
            w.set_uint32("llama.context_length", 4096);
            w.set_uint32("llama.embedding_length", 512);
            w.set_uint32("llama.block_count", 2);
            w.set_uint32("llama.attention.head_count", 8);
            w.set_uint32("llama.attention.head_count_kv", 2);
            w.set_uint32("llama.feed_forward_length", 1024);
            w.set_uint32("llama.vocab_size", 100);
            edit(w);
            const std::vector<uint8_t> bytes = w.to_bytes();
            return HyperParams::from_gguf(GgufFile::parse(bytes));
        };
        const HyperParams plain = params([](GgufWriter&) {});
        QCOMPARE(plain.head_dim, 64);
        QCOMPARE(plain.kv_dim(), 128);
        QCOMPARE(plain.rope_scale, 1.0f);
        QCOMPARE(plain.context_length, int64_t(4096));
        const HyperParams scaled = params([](GgufWriter& w) {
            w.set_string("llama.rope.scaling.type", "linear");
            w.set_float32("llama.rope.scaling.factor", 4.0f);
            w.set_float32("llama.rope.freq_base", 500000.0f);
        });
        QCOMPARE(scaled.rope_scale, 4.0f);
        QCOMPARE(scaled.rope_freq_base, 500000.0f);
        // Linear scaling: position 4p under factor 4 rotates exactly as position p without it.
        HyperParams unscaled = scaled;
        unscaled.rope_scale = 1.0f;
        const RopeTable a(scaled, 4000), b(unscaled, 1000);
        for (const int p : {1, 7, 999}) {
            std::vector<float> x(64, 0.5f), y(64, 0.5f);
            a.rotate(x.data(), 1, 64, 4 * p);
            b.rotate(y.data(), 1, 64, p);
            for (int d = 0; d < 64; ++d) QVERIFY(std::abs(x[size_t(d)] - y[size_t(d)]) < 1e-5f);
        }
        QVERIFY_THROWS_EXCEPTION(
            Error, params([](GgufWriter& w) { w.set_string("general.architecture", "gpt2"); }));
        // The message names what is supported.
        QVERIFY(testing::error_of([&] {
                    params([](GgufWriter& w) { w.set_string("general.architecture", "gpt2"); });
                }).contains("supported: llama, qwen2, gemma, gemma3, phi2, phi3"));
        QVERIFY_THROWS_EXCEPTION(
            Error, params([](GgufWriter& w) { w.set_uint32("llama.attention.head_count_kv", 3); }));
        QVERIFY_THROWS_EXCEPTION(
            Error, params([](GgufWriter& w) { w.set_string("llama.rope.scaling.type", "yarn"); }));
        QVERIFY_THROWS_EXCEPTION(
            Error, params([](GgufWriter& w) { w.set_uint32("llama.embedding_length", 0); }));
        QVERIFY_THROWS_EXCEPTION(
            Error, params([](GgufWriter& w) { w.set_string("llama.context_length", "long"); }));
    }
};

QTEST_APPLESS_MAIN(TestMatmul)
#include "tst_matmul.moc"
