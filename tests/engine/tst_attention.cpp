// The CPU attention kernel (vanilla and Self-Extend) against a plain float64 implementation of
// SELFEXTEND.md written here: positions, RoPE, causal softmax and the value sum, pair by pair.
#include <QtTest>
#include <cmath>

#include "attention_reference.h"
#include "backend/cpu/attention.h"
#include "backend/cpu/thread_pool.h"

using namespace selfextend;

namespace {

using testing::AttentionProblem;

std::vector<double> rotate(const double* x, int dim, int64_t position) {
    return testing::rope_rotate(x, dim, position);
}

// Runs the kernel for queries [first, n) with all n keys cached; returns [n - first][heads][d].
std::vector<float> run_kernel(const AttentionProblem& p, int first, cpu::ThreadPool& pool) {
    const int d = p.head_dim;
    const bool grouped = p.G > 1;
    std::vector<float> keys(size_t(p.kv_heads * p.n * d)), values(keys.size());
    for (int j = 0; j < p.n; ++j)
        for (int h = 0; h < p.kv_heads; ++h) {
            const double* raw = &p.k[size_t((j * p.kv_heads + h) * d)];
            const auto at_j = rotate(raw, d, j);
            for (int x = 0; x < d; ++x) {
                const size_t slot = size_t((h * p.n + j) * d + x);
                keys[slot] = float(at_j[size_t(x)]);
                values[slot] = float(p.v[size_t((j * p.kv_heads + h) * d + x)]);
            }
        }
    const int count = p.n - first;
    std::vector<float> q(size_t(count * p.heads * d)), qg(q.size());
    for (int t = 0; t < count; ++t)
        for (int h = 0; h < p.heads; ++h) {
            const int i = first + t;
            const double* raw = &p.q[size_t((i * p.heads + h) * d)];
            const auto at_i = rotate(raw, d, i);
            const auto at_group = rotate(raw, d, i / p.G + p.W - p.W / p.G);
            for (int x = 0; x < d; ++x) {
                q[size_t((t * p.heads + h) * d + x)] = float(at_i[size_t(x)]);
                qg[size_t((t * p.heads + h) * d + x)] = float(at_group[size_t(x)]);
            }
        }
    std::vector<float> out(q.size());
    const cpu::AttentionShape shape{p.heads, p.kv_heads, d};
    const cpu::KvLayerView view{keys.data(), values.data(), p.n};
    const AttentionMode mode =
        grouped ? AttentionMode::self_extend(p.G, p.W) : AttentionMode::vanilla();
    // The engine re-rotates cached keys with its RoPE table (same base as the reference).
    HyperParams hp;
    hp.head_dim = hp.rope_dimensions = d;
    hp.rope_freq_base = float(testing::kReferenceRopeBase);
    const RopeTable rope(hp, RopeTable::positions_for(p.n, mode));
    cpu::attention(shape, mode, q.data(), grouped ? qg.data() : nullptr, view, rope, first, count,
                   out.data(), pool);
    return out;
}

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
        QTest::newRow("single token") << 1 << 1 << 1 << 64 << 2 << 4;
        QTest::newRow("vanilla GQA") << 70 << 4 << 2 << 64 << 1 << 0;
        QTest::newRow("G=1 with a window") << 65 << 2 << 1 << 16 << 1 << 10;
        QTest::newRow("G2 W4") << 17 << 4 << 2 << 64 << 2 << 4;
        QTest::newRow("W not a multiple of G") << 100 << 4 << 1 << 64 << 3 << 7;
        QTest::newRow("W = 0: every pair grouped") << 50 << 2 << 2 << 32 << 4 << 0;
        QTest::newRow("W >= n: exactly vanilla") << 90 << 2 << 1 << 64 << 8 << 256;
        QTest::newRow("block edges 129") << 129 << 2 << 2 << 64 << 4 << 64;
        QTest::newRow("head dim 128, 8:2 GQA") << 150 << 8 << 2 << 128 << 5 << 33;
        QTest::newRow("large group") << 200 << 2 << 1 << 64 << 16 << 20;
    }

    void matchesFloat64Reference() {
        QFETCH(int, n);
        QFETCH(int, heads);
        QFETCH(int, kv_heads);
        QFETCH(int, head_dim);
        QFETCH(int, G);
        QFETCH(int, W);
        const AttentionProblem problem(n, heads, kv_heads, head_dim, G, W,
                                       uint32_t(n * 31 + G * 7 + W));
        const std::vector<double> expected = problem.reference();
        cpu::ThreadPool pool(2);
        // Whole prefill, a prefill continuing a cache, and the last token alone (decode).
        for (const int first : {0, n / 3, n - 1}) {
            const std::vector<float> out = run_kernel(problem, first, pool);
            double worst = 0;
            for (size_t k = 0; k < out.size(); ++k)
                worst = std::max(worst, std::abs(double(out[k]) -
                                                 expected[size_t(first * heads * head_dim) + k]));
            QVERIFY2(worst < 2e-5,
                     qPrintable(QString("first=%1 max error %2").arg(first).arg(worst)));
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
        const auto out = run_kernel(grouped, 0, pool);
        double worst = 0;
        for (size_t k = 0; k < out.size(); ++k)
            worst = std::max(worst, std::abs(double(out[k]) - a[k]));
        QVERIFY(worst < 2e-5);
    }
};

QTEST_APPLESS_MAIN(TestAttention)
#include "tst_attention.moc"
