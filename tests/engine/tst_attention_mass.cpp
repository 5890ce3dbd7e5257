// The attention mass (Session::collect_attention_mass): the split-K decode kernel's per-key
// probabilities against a float64 softmax written here (positions, RoPE and scores pair by pair,
// vanilla and Self-Extend), and a session on the demo model: one unit of mass per generated
// token, the answer unchanged by collecting it.
#include <QtTest>
#include <cmath>
#include <numeric>

#include "attention_harness.h"
#include "selfextend/engine.h"
#include "test_paths.h"

using namespace selfextend;

namespace {

using testing::AttentionProblem;

// weight * sum over the rows [first, n) and the heads of each key's softmax probability, in
// float64 from the problem's raw q and k.
std::vector<double> expected_mass(const AttentionProblem& p, int first, double weight) {
    std::vector<double> mass(size_t(p.n), 0.0);
    const int per_kv = p.heads / p.kv_heads;
    for (int i = first; i < p.n; ++i)
        for (int h = 0; h < p.heads; ++h) {
            std::vector<double> scores(size_t(i + 1), -INFINITY);
            double top = -INFINITY;
            for (int j = 0; j <= i; ++j) {
                if (p.key_window > 0 && i - j >= p.key_window) continue;
                const auto [pq, pk] = testing::self_extend_positions(i, j, p.G, p.W);
                const auto q = testing::rope_rotate(&p.q[(size_t(i) * p.heads + h) * p.head_dim],
                                                    p.head_dim, pq);
                const auto k = testing::rope_rotate(
                    &p.k[(size_t(j) * p.kv_heads + h / per_kv) * p.head_dim], p.head_dim, pk);
                double dot = 0;
                for (int d = 0; d < p.head_dim; ++d) dot += q[size_t(d)] * k[size_t(d)];
                scores[size_t(j)] = dot / std::sqrt(double(p.head_dim));
                top = std::max(top, scores[size_t(j)]);
            }
            double sum = 0;
            for (double& s : scores) sum += (s = std::exp(s - top));
            for (int j = 0; j <= i; ++j) mass[size_t(j)] += weight * scores[size_t(j)] / sum;
        }
    return mass;
}

struct KernelRun {
    std::vector<float> out, mass;
};

// The kernel's output and mass (none when weight is 0) for the decode rows [first, n) over an F32
// cache holding the problem's keys (rotated at their own positions) and values.
KernelRun run_kernel(const AttentionProblem& p, int first, float weight, cpu::ThreadPool& pool) {
    const testing::CachedProblem cached(p, KvType::F32);
    KernelRun run{{}, std::vector<float>(size_t(p.n), 0.0f)};
    const cpu::AttentionMass collect{run.mass.data(), weight};
    run.out = testing::run_kernel(p, cached.cache, first, pool, weight > 0 ? &collect : nullptr);
    return run;
}

double max_difference(const std::vector<float>& got, const std::vector<double>& expected) {
    double worst = 0;
    for (size_t j = 0; j < got.size(); ++j)
        worst = std::max(worst, std::abs(double(got[j]) - expected[j]));
    return worst;
}

// Greedy tokens of the demo model after `prompt`, collecting the mass or not.
struct Answer {
    std::vector<int32_t> tokens;
    std::vector<float> mass;
    int64_t generated = 0;
    int64_t position = 0;
};

Answer answer(const Model& model, const AttentionMode& mode, std::span<const int32_t> prompt,
              bool collect) {
    auto session = model.new_session({.context_length = 1024, .attention = mode});
    Answer a;
    if (collect) {
        if (!session->collect_attention_mass(true)) return a;
    }
    session->prefill(prompt);
    const auto stats = session->generate(12, {}, [&](const Token& t) {
        a.tokens.push_back(t.id);
        return true;
    });
    a.generated = stats.tokens;
    a.position = session->position();
    a.mass.assign(session->attention_mass().begin(), session->attention_mass().end());
    return a;
}

}  // namespace

class TestAttentionMass : public QObject {
    Q_OBJECT
  private slots:
    // Decode steps of one to five queries over several key ranges of the split-K kernel (128
    // keys each), band edges inside ranges, GQA and a sliding window.
    void kernelMatchesFloat64Softmax_data() {
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("heads");
        QTest::addColumn<int>("kv_heads");
        QTest::addColumn<int>("G");
        QTest::addColumn<int>("W");
        QTest::addColumn<int>("key_window");
        QTest::addColumn<int>("queries");
        QTest::newRow("vanilla, one query, 4:2 GQA") << 300 << 4 << 2 << 1 << 0 << 0 << 1;
        QTest::newRow("vanilla, five queries") << 517 << 3 << 1 << 1 << 0 << 0 << 5;
        QTest::newRow("G4 W100, one query") << 300 << 4 << 2 << 4 << 100 << 0 << 1;
        QTest::newRow("G3 W37, three queries") << 700 << 2 << 2 << 3 << 37 << 0 << 3;
        QTest::newRow("sliding window 200") << 450 << 2 << 1 << 1 << 0 << 200 << 2;
    }

    void kernelMatchesFloat64Softmax() {
        QFETCH(int, n);
        QFETCH(int, heads);
        QFETCH(int, kv_heads);
        QFETCH(int, G);
        QFETCH(int, W);
        QFETCH(int, key_window);
        QFETCH(int, queries);
        AttentionProblem problem(n, heads, kv_heads, 64, G, W, uint32_t(n * 7 + G + W));
        problem.key_window = key_window;
        cpu::ThreadPool pool(2);
        const int first = n - queries;
        const double weight = 1.0 / heads;  // each query row adds 1 in all
        const std::vector<float> mass = run_kernel(problem, first, float(weight), pool).mass;
        const std::vector<double> expected = expected_mass(problem, first, weight);
        const double worst = max_difference(mass, expected);
        const double total = std::accumulate(mass.begin(), mass.end(), 0.0);
        qInfo("max difference %.3g, total %.7f for %d queries", worst, total, queries);
        // Measured: about 1e-8 (float32 scores); a key at a wrong position moves it by 1e-3.
        QVERIFY2(worst < 1e-6, qPrintable(QString("max difference %1").arg(worst)));
        QVERIFY2(std::abs(total - queries) < 1e-4, qPrintable(QString("total %1").arg(total)));
        if (key_window > 0)  // keys before the window get nothing
            for (int j = 0; j < first - key_window + 1; ++j) QCOMPARE(mass[size_t(j)], 0.0f);
        if (G > 1) {
            // The grouped positions matter: the vanilla softmax of the same q and k differs.
            AttentionProblem vanilla = problem;
            vanilla.G = 1;
            vanilla.W = 0;
            const double apart = max_difference(mass, expected_mass(vanilla, first, weight));
            QVERIFY2(apart > 1e-3, qPrintable(QString("vanilla only %1 away").arg(apart)));
        }
    }

    // Collecting changes nothing in the attention's output, bit for bit.
    void collectingLeavesTheOutputAlone() {
        const AttentionProblem problem(260, 2, 1, 64, 4, 50, 5);
        cpu::ThreadPool pool(2);
        const KernelRun with = run_kernel(problem, 257, 0.5f, pool);
        const KernelRun without = run_kernel(problem, 257, 0.0f, pool);
        QCOMPARE(with.out, without.out);
        QVERIFY(std::accumulate(with.mass.begin(), with.mass.end(), 0.0) > 1.0);
        QCOMPARE(without.mass, std::vector<float>(size_t(problem.n), 0.0f));
    }

    // A session on the demo model: one unit of mass per generated token (every layer sums to
    // 1 over the keys), spread over the document, and the same answer as without collecting.
    void sessionCollectsOneUnitPerGeneratedToken_data() {
        QTest::addColumn<int>("G");
        QTest::addColumn<int>("W");
        QTest::newRow("vanilla") << 1 << 0;
        QTest::newRow("Self-Extend G4 W128") << 4 << 128;
    }

    void sessionCollectsOneUnitPerGeneratedToken() {
        QFETCH(int, G);
        QFETCH(int, W);
        const auto model = Model::load(testing::demo_model_path().toStdString(), {.threads = 2});
        const AttentionMode mode =
            G > 1 ? AttentionMode::self_extend(G, W) : AttentionMode::vanilla();
        std::string document;
        for (int k = 0; k < 40; ++k)
            document += "Line " + std::to_string(k) + ": the river runs past the old mill.\n";
        const std::vector<int32_t> prompt =
            model->tokenize(document + "Question: what runs past the mill?\nAnswer:", true);
        QVERIFY(prompt.size() > 400);  // past W: most keys are grouped under Self-Extend

        const Answer with = answer(*model, mode, prompt, true);
        const Answer without = answer(*model, mode, prompt, false);
        QCOMPARE(with.tokens, without.tokens);
        QVERIFY(without.mass.empty());
        QVERIFY(with.generated > 0);
        QCOMPARE(int64_t(with.mass.size()), with.position);
        const double total = std::accumulate(with.mass.begin(), with.mass.end(), 0.0);
        qInfo("%lld tokens generated, mass %.6f", static_cast<long long>(with.generated), total);
        QVERIFY2(std::abs(total - double(with.generated)) < 1e-3 * double(with.generated),
                 qPrintable(QString("mass %1 for %2 tokens").arg(total).arg(with.generated)));
        for (const float m : with.mass) QVERIFY(m >= 0.0f);
        // The prompt's own tokens hold most of it (they are most of the keys).
        const double on_prompt = std::accumulate(
            with.mass.begin(), with.mass.begin() + std::ptrdiff_t(prompt.size()), 0.0);
        QVERIFY(on_prompt > 0.1 * total);
    }

    void resetZeroesAndOffStops() {
        const auto model = Model::load(testing::demo_model_path().toStdString(), {.threads = 2});
        auto session = model->new_session({.context_length = 256});
        QVERIFY(session->collect_attention_mass(true));
        session->prefill(model->tokenize("The mill stands by the river.\nQuestion: where?", true));
        QCOMPARE(int64_t(session->attention_mass().size()), session->position());
        session->generate(3, {}, {});
        QVERIFY(std::accumulate(session->attention_mass().begin(), session->attention_mass().end(),
                                0.0) > 0.5);
        session->reset_attention_mass();
        for (const float m : session->attention_mass()) QCOMPARE(m, 0.0f);
        QVERIFY(!session->collect_attention_mass(false));
        QVERIFY(session->attention_mass().empty());
    }
};

QTEST_GUILESS_MAIN(TestAttentionMass)
#include "tst_attention_mass.moc"
