// The CPU matrix products for every stored type, on both paths (dot products from stored rows
// for a few tokens, converted panels for many), against float64 sums of the dequantized weights
// written here; and hyper-parameter reading (RoPE scaling, bad metadata).
#include <QtTest>
#include <cmath>
#include <optional>
#include <random>

#include "backend/cpu/matmul.h"
#include "backend/cpu/thread_pool.h"
#include "backend/rope_table.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "model/hyper_params.h"

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
                case DType::Q8_0: {
                    const uint8_t* block = row + (c / 32) * 34;
                    std::memcpy(&h, block, 2);
                    value = double(half_to_float(h)) * double(int8_t(block[2 + c % 32]));
                    break;
                }
                case DType::Q4_0: {
                    const uint8_t* block = row + (c / 32) * 18;
                    std::memcpy(&h, block, 2);
                    const int k = int(c % 32);
                    const int nibble = k < 16 ? block[2 + k] & 0x0f : block[2 + k - 16] >> 4;
                    value = double(half_to_float(h)) * double(nibble - 8);
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
        for (const DType type : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0})
            for (const int tokens : {1, 3, 4, 7, 13})
                for (const auto& [rows, cols] :
                     {std::pair{70, 64}, std::pair{33, 256}, std::pair{256, 96}})
                    QTest::newRow(qPrintable(
                        QString("%1 %2x%3 n=%4")
                            .arg(QString::fromUtf8(dtype_traits(type).name.data(),
                                                   qsizetype(dtype_traits(type).name.size())))
                            .arg(rows)
                            .arg(cols)
                            .arg(tokens)))
                        << int(type) << rows << cols << tokens;
    }

    void everyTypeBothPaths() {
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
        cpu::matmul(m.matrix, x.data(), tokens, y.data(), pool);
        double worst = 0;
        for (int t = 0; t < tokens; ++t)
            for (int r = 0; r < rows; ++r) {
                double expected = 0, magnitude = 0;
                for (int c = 0; c < cols; ++c) {
                    expected +=
                        m.dequantized[size_t(r * cols + c)] * double(x[size_t(t * cols + c)]);
                    magnitude += std::abs(m.dequantized[size_t(r * cols + c)] *
                                          double(x[size_t(t * cols + c)]));
                }
                const double got = y[size_t(t * rows + r)];
                QVERIFY2(std::isfinite(got), "an output was not written");
                worst = std::max(worst, std::abs(got - expected) / (magnitude + 1e-6));
            }
        QVERIFY2(worst < 1e-5, qPrintable(QString("relative error %1").arg(worst)));
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
