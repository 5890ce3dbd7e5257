// The CPU attention kernel (vanilla and Self-Extend) against a plain float64 implementation of
// SELFEXTEND.md written here: positions, RoPE, causal softmax and the value sum, pair by pair.
// With F16 and Q8_0 caches the reference is given the very values the cache holds (decoded here,
// independently of the engine), so the tolerance stays that of float32 arithmetic; the rounding
// itself is checked separately.
#include <QtTest>
#include <cmath>
#include <cstring>

#include "attention_harness.h"
#include "gguf/block_layouts.h"

using namespace selfextend;

namespace {

using testing::AttentionProblem;
using testing::CachedProblem;
using testing::decode_row;
using testing::half_value;
using testing::row_bytes;
using testing::run_kernel;

double max_error(const std::vector<float>& out, const std::vector<double>& expected) {
    double worst = 0;
    for (size_t k = 0; k < out.size(); ++k)
        worst = std::max(worst, std::abs(double(out[k]) - expected[k]));
    return worst;
}

void add_kv_type_column() {
    QTest::addColumn<int>("type");
}

const char* type_name(KvType type) {
    return type == KvType::F32 ? "f32" : type == KvType::F16 ? "f16" : "q8_0";
}

constexpr double kTolerance = 2e-5;  // float32 arithmetic against float64, same stored values

}  // namespace

class TestAttention : public QObject {
    Q_OBJECT
  private slots:
    void matchesFloat64Reference_data() {
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("heads");
        QTest::addColumn<int>("kv_heads");
        QTest::addColumn<int>("head_dim");
        QTest::addColumn<int>("G");
        QTest::addColumn<int>("W");
        add_kv_type_column();
        struct Case {
            const char* name;
            int n, heads, kv_heads, head_dim, G, W;
        };
        const Case cases[] = {
            {"single token", 1, 1, 1, 64, 2, 4},
            {"vanilla GQA", 70, 4, 2, 64, 1, 0},
            {"one grouped pair: W = n - 1", 65, 2, 1, 16, 2, 64},
            {"G2 W4", 17, 4, 2, 64, 2, 4},
            {"W not a multiple of G", 100, 4, 1, 64, 3, 7},
            {"W = 0: every pair grouped", 50, 2, 2, 32, 4, 0},
            {"W >= n: exactly vanilla", 90, 2, 1, 64, 8, 256},
            {"block edges 129", 129, 2, 2, 64, 4, 64},
            {"head dim 128, 8:2 GQA", 150, 8, 2, 128, 5, 33},
            {"large group", 200, 2, 1, 64, 16, 20},
            {"head dim 96", 120, 3, 1, 96, 3, 21},
        };
        for (const Case& c : cases)
            for (const KvType type : {KvType::F32, KvType::F16, KvType::Q8_0})
                if (type != KvType::Q8_0 || c.head_dim % 32 == 0)  // Q8_0: whole blocks
                    QTest::newRow(qPrintable(QString("%1, %2").arg(c.name, type_name(type))))
                        << c.n << c.heads << c.kv_heads << c.head_dim << c.G << c.W << int(type);
    }

    void matchesFloat64Reference() {
        QFETCH(int, n);
        QFETCH(int, heads);
        QFETCH(int, kv_heads);
        QFETCH(int, head_dim);
        QFETCH(int, G);
        QFETCH(int, W);
        QFETCH(int, type);
        const AttentionProblem problem(n, heads, kv_heads, head_dim, G, W,
                                       uint32_t(n * 31 + G * 7 + W));
        const CachedProblem cached(problem, KvType(type));
        const std::vector<double> expected = cached.held.reference();
        cpu::ThreadPool pool(2);
        // Whole prefill, a prefill continuing a cache, and the last token alone (decode).
        for (const int first : {0, n / 3, n - 1}) {
            const std::vector<float> out = run_kernel(problem, cached.cache, first, pool);
            const std::vector<double> rows(expected.begin() + first * heads * head_dim,
                                           expected.end());
            const double worst = max_error(out, rows);
            QVERIFY2(worst < kTolerance,
                     qPrintable(QString("first=%1 max error %2").arg(first).arg(worst)));
        }
    }

    // Decode steps at contexts of thousands of keys: the split-K path (key ranges on several
    // threads, merged by log-sum-exp), with GQA, band edges inside a range of keys, and one to
    // eight queries at once.
    void splitKDecodeAtLongContexts_data() {
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("heads");
        QTest::addColumn<int>("kv_heads");
        QTest::addColumn<int>("head_dim");
        QTest::addColumn<int>("G");
        QTest::addColumn<int>("W");
        add_kv_type_column();
        QTest::newRow("vanilla 3000, 4:1 GQA, f16")
            << 3000 << 8 << 2 << 64 << 1 << 0 << int(KvType::F16);
        QTest::newRow("G4 W100 3000, 4:1 GQA, f16")
            << 3000 << 8 << 2 << 64 << 4 << 100 << int(KvType::F16);
        QTest::newRow("G4 W100 3000, 4:1 GQA, f32")
            << 3000 << 8 << 2 << 64 << 4 << 100 << int(KvType::F32);
        QTest::newRow("G8 W333 5001, 3:1 GQA, q8_0")
            << 5001 << 9 << 3 << 64 << 8 << 333 << int(KvType::Q8_0);
        QTest::newRow("G5 W1000 4100, head dim 128, f16")
            << 4100 << 4 << 1 << 128 << 5 << 1000 << int(KvType::F16);
        QTest::newRow("G3 W50 2500, head dim 80, f16")
            << 2500 << 2 << 2 << 80 << 3 << 50 << int(KvType::F16);
    }

    void splitKDecodeAtLongContexts() {
        QFETCH(int, n);
        QFETCH(int, heads);
        QFETCH(int, kv_heads);
        QFETCH(int, head_dim);
        QFETCH(int, G);
        QFETCH(int, W);
        QFETCH(int, type);
        const AttentionProblem problem(n, heads, kv_heads, head_dim, G, W, uint32_t(n + G + W));
        const CachedProblem cached(problem, KvType(type));
        cpu::ThreadPool pool(2);
        for (const int queries : {1, 3, 8}) {
            const int first = n - queries;
            const std::vector<double> expected = cached.held.reference_from(first);
            const std::vector<float> out = run_kernel(problem, cached.cache, first, pool);
            const double worst = max_error(out, expected);
            qInfo("%d queries: max error %.3g", queries, worst);
            // Outputs averaged over thousands of values are small: measured errors are about
            // 5e-8, and one key lost or mis-rotated moves them by 1e-4 or more.
            QVERIFY2(worst < 1e-6,
                     qPrintable(QString("%1 queries: max error %2").arg(queries).arg(worst)));
        }
    }

    // RoPE on part of each head (Phi-2 style): the pairs past it never turn, in prefill tiles
    // and in decode ranges alike.
    void partialRotaryHeads() {
        AttentionProblem problem(700, 4, 2, 64, 4, 50, 17);
        problem.rope_pairs = 12;  // 24 of 64 dimensions
        for (const KvType type : {KvType::F32, KvType::F16}) {
            const CachedProblem cached(problem, type);
            cpu::ThreadPool pool(2);
            for (const int first : {0, 600, 699, 697}) {
                const auto out = run_kernel(problem, cached.cache, first, pool);
                const double worst = max_error(out, cached.held.reference_from(first));
                QVERIFY2(worst < kTolerance, qPrintable(QString("%1 first=%2 max error %3")
                                                            .arg(type_name(type))
                                                            .arg(first)
                                                            .arg(worst)));
            }
        }
    }

    // Sliding-window layers (Gemma 3's local ones): query i sees keys j > i - key_window only,
    // in prefill tiles (whole tiles before the window skipped, the edge tile masked per row) and
    // in decode ranges (ranges before the window skipped). Windows on and off tile and range
    // edges, a window of one key, one longer than the sequence, Gemma's shape (head dim 256,
    // 4:1 GQA), and Self-Extend together with a window (the kernel allows both).
    void slidingWindow_data() {
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("heads");
        QTest::addColumn<int>("kv_heads");
        QTest::addColumn<int>("head_dim");
        QTest::addColumn<int>("G");
        QTest::addColumn<int>("W");
        QTest::addColumn<int>("key_window");
        add_kv_type_column();
        QTest::newRow("window 50, f32") << 300 << 4 << 1 << 64 << 1 << 0 << 50 << int(KvType::F32);
        QTest::newRow("window 64 (a tile), f16")
            << 300 << 4 << 2 << 64 << 1 << 0 << 64 << int(KvType::F16);
        QTest::newRow("window 1, f32") << 100 << 2 << 1 << 32 << 1 << 0 << 1 << int(KvType::F32);
        QTest::newRow("window past n, f32")
            << 90 << 2 << 1 << 64 << 1 << 0 << 512 << int(KvType::F32);
        QTest::newRow("Gemma shape, window 150, f16")
            << 400 << 4 << 1 << 256 << 1 << 0 << 150 << int(KvType::F16);
        QTest::newRow("window 200, q8_0")
            << 500 << 2 << 1 << 64 << 1 << 0 << 200 << int(KvType::Q8_0);
        QTest::newRow("G4 W40 with window 100, f32")
            << 400 << 4 << 2 << 64 << 4 << 40 << 100 << int(KvType::F32);
    }

    void slidingWindow() {
        QFETCH(int, n);
        QFETCH(int, heads);
        QFETCH(int, kv_heads);
        QFETCH(int, head_dim);
        QFETCH(int, G);
        QFETCH(int, W);
        QFETCH(int, key_window);
        QFETCH(int, type);
        AttentionProblem problem(n, heads, kv_heads, head_dim, G, W, uint32_t(n + key_window));
        problem.key_window = key_window;
        const CachedProblem cached(problem, KvType(type));
        cpu::ThreadPool pool(2);
        const std::vector<double> expected = cached.held.reference();
        // Whole prefill, a prefill continuing a cache, decode steps of 1 to 8 queries.
        for (const int first : {0, n / 3, n - 8, n - 3, n - 1}) {
            const std::vector<float> out = run_kernel(problem, cached.cache, first, pool);
            const std::vector<double> rows(expected.begin() + first * heads * head_dim,
                                           expected.end());
            const double worst = max_error(out, rows);
            QVERIFY2(worst < kTolerance,
                     qPrintable(QString("first=%1 max error %2").arg(first).arg(worst)));
        }
        // The window really cuts: without it the last row differs.
        if (key_window < n) {
            AttentionProblem unwindowed = cached.held;
            unwindowed.key_window = 0;
            const auto b = unwindowed.reference_from(n - 1);
            const size_t last = expected.size() - b.size();
            double difference = 0;
            for (size_t k = 0; k < b.size(); ++k)
                difference = std::max(difference, std::abs(expected[last + k] - b[k]));
            QVERIFY(difference > 1e-3);
        }
    }

    // The key ranges are fixed, not derived from the thread count: one thread and three give the
    // same bits.
    void decodeDoesNotDependOnTheThreadCount() {
        const AttentionProblem problem(2000, 4, 2, 64, 4, 300, 99);
        const CachedProblem cached(problem, KvType::F16);
        cpu::ThreadPool one(1), three(3);
        const auto a = run_kernel(problem, cached.cache, 1999, one);
        const auto b = run_kernel(problem, cached.cache, 1999, three);
        QVERIFY(a == b);
    }

    // K and V are written rounded to nearest: F16 within half a unit in the last place, Q8_0
    // within half a step of its block's scale (the largest value of a block maps to +-127).
    void cacheRowsAreRoundedToNearest() {
        const AttentionProblem problem(40, 1, 2, 64, 1, 0, 5);
        for (const KvType type : {KvType::F16, KvType::Q8_0}) {
            cpu::KvCache cache(1, 2, 64, 40, type);
            double worst_ulps = 0;
            for (int j = 0; j < 40; ++j) {
                const size_t at = size_t(j * 2 * 64);
                std::vector<float> value(problem.v.begin() + std::ptrdiff_t(at),
                                         problem.v.begin() + std::ptrdiff_t(at) + 64);
                value[3] *= 1000.0f;  // one large value: the Q8_0 block's scale follows it
                cache.store(0, cpu::KvCache::kValues, 0, j, value.data());
                const std::byte* row =
                    cache.block(0, cpu::KvCache::kValues, 0) + size_t(j) * row_bytes(type, 64);
                const auto stored = decode_row(type, row, 64);
                for (int x = 0; x < 64; ++x) {
                    double step;
                    if (type == KvType::F16) {
                        // (subnormal halves are 2^-24 apart)
                        step = value[size_t(x)] == 0.0f
                                   ? std::ldexp(1.0, -24)
                                   : std::max(std::ldexp(1.0, std::ilogb(value[size_t(x)]) - 10),
                                              std::ldexp(1.0, -24));
                    } else {
                        uint16_t scale;
                        std::memcpy(&scale, row + (x / 32) * 34, 2);
                        step = half_value(scale);
                        if (x % 32 == 3 && x < 32)  // the block's largest value is +-127 steps
                            QCOMPARE(std::abs(std::round(stored[size_t(x)] / step)), 127.0);
                    }
                    worst_ulps =
                        std::max(worst_ulps, std::abs(stored[size_t(x)] - value[size_t(x)]) / step);
                }
            }
            qInfo("%s: worst rounding error %.3f steps", type_name(type), worst_ulps);
            QVERIFY2(worst_ulps <= 0.5 + 1e-6, qPrintable(QString::number(worst_ulps)));
            QVERIFY(worst_ulps > 0.1);  // the values really were rounded
        }
    }

    void selfExtendChangesResultPastTheWindow() {
        // Guard against a kernel that ignores the mode: G=4 W=8 must differ from vanilla.
        const AttentionProblem grouped(40, 2, 1, 64, 4, 8, 7);
        AttentionProblem vanilla = grouped;
        vanilla.G = 1;
        const auto a = grouped.reference();
        const auto b = vanilla.reference();
        double difference = 0;
        for (size_t k = 0; k < a.size(); ++k)
            difference = std::max(difference, std::abs(a[k] - b[k]));
        QVERIFY(difference > 1e-2);
        cpu::ThreadPool pool(2);
        const CachedProblem cached(grouped, KvType::F32);
        for (const int first : {0, 39}) {
            const auto out = run_kernel(grouped, cached.cache, first, pool);
            QVERIFY(max_error(out, grouped.reference_from(first)) < kTolerance);
        }
    }
};

QTEST_APPLESS_MAIN(TestAttention)
#include "tst_attention.moc"
