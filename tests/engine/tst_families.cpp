// Every family the engine runs, proved on a tiny model of random weights against the float64
// forward pass of tests/common/reference_forward.h: all logits rows of a 40-token prefill, in
// vanilla mode and in two Self-Extend settings whose windows the sequence exceeds, with an F32
// KV cache so that only float32 rounding stands between engine and reference. Layer by layer
// too: the engine's layer observer reports the residual stream after each layer, and a failure
// names the first layer that leaves the bound.
#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "engine_internals.h"
#include "reference_forward.h"
#include "selfextend/engine.h"
#include "tiny_models.h"

using namespace selfextend;
using testing::LayerResiduals;
using testing::TinyArch;
using testing::TinyModel;

namespace {

// max |engine - reference| / max |reference logit|: float32 rounding, measured 2e-7 to 8e-7.
constexpr double kTolerance = 1e-4;
// Self-Extend must move the reference's logits by far more than the bound, or the comparison
// could not tell the settings apart.
constexpr double kSeparation = 100 * kTolerance;
constexpr int kTokens = 40;

// BOS (when the vocabulary adds one), then ids spread over the ordinary pieces.
std::vector<int32_t> tiny_tokens(const TinyModel& m) {
    std::vector<int32_t> tokens;
    if (m.vocabulary.add_bos) tokens.push_back(m.vocabulary.bos_id);
    std::mt19937 rng(7);
    std::uniform_int_distribution<int32_t> id(3, m.vocab_size - 2);
    while (tokens.size() < size_t(kTokens)) tokens.push_back(id(rng));
    return tokens;
}

// max |a - b| / max |b| over [n][width] rows, a as floats in one block.
double relative_error(const float* a, const std::vector<std::vector<double>>& b) {
    double worst = 0, scale = 0;
    size_t k = 0;
    for (const auto& row : b)
        for (const double expected : row) {
            worst = std::max(worst, std::abs(double(a[k++]) - expected));
            scale = std::max(scale, std::abs(expected));
        }
    return worst / scale;
}

double relative_difference(const std::vector<std::vector<double>>& a,
                           const std::vector<std::vector<double>>& b) {
    double worst = 0, scale = 0;
    for (size_t t = 0; t < a.size(); ++t)
        for (size_t v = 0; v < a[t].size(); ++v) {
            worst = std::max(worst, std::abs(a[t][v] - b[t][v]));
            scale = std::max(scale, std::abs(b[t][v]));
        }
    return worst / scale;
}

// The residual stream after each layer as the engine reports it: [layer][token x embedding].
struct ObservedLayers {
    std::vector<std::vector<float>> residual;
};

// Asks the engine to report each layer's residual stream into `seen`; false when the session's
// backend cannot observe its layers.
bool observe(Session& session, ObservedLayers& seen, int layers, int64_t tokens, int embedding) {
    seen.residual.assign(size_t(layers), std::vector<float>(size_t(tokens * embedding)));
    return detail::Internals::observe_layers(
        session,
        [&seen, embedding](int layer, int64_t first_position, int64_t n, const float* residual) {
            std::copy_n(residual, n * embedding,
                        seen.residual[size_t(layer)].begin() + first_position * embedding);
        });
}

}  // namespace

class TestFamilies : public QObject {
    Q_OBJECT
  private slots:
    void engineMatchesReference_data() {
        QTest::addColumn<int>("arch");
        QTest::addColumn<int>("group");
        QTest::addColumn<int>("window");
        for (const TinyArch arch : testing::kTinyArchs) {
            const std::string name = testing::tiny_arch_name(arch);
            QTest::newRow((name + " vanilla").c_str()) << int(arch) << 1 << 0;
            QTest::newRow((name + " G=2 W=8").c_str()) << int(arch) << 2 << 8;
            QTest::newRow((name + " G=3 W=5").c_str()) << int(arch) << 3 << 5;  // W % G != 0
        }
    }

    void engineMatchesReference() {
        QFETCH(int, arch);
        QFETCH(int, group);
        QFETCH(int, window);
        const TinyModel tiny = testing::make_tiny_model(TinyArch(arch), 1000 + uint32_t(arch));
        const std::vector<int32_t> tokens = tiny_tokens(tiny);
        LayerResiduals expected_layers;
        const auto expected =
            testing::reference_logits(tiny, tokens, group, window, &expected_layers);
        if (group > 1) {
            const double moved =
                relative_difference(expected, testing::reference_logits(tiny, tokens, 1, 0));
            qInfo("reference: Self-Extend moves the logits by %.3g of the largest", moved);
            QVERIFY2(moved > kSeparation, qPrintable(QString::number(moved)));
        }

        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string path = (dir.path() + "/tiny.gguf").toStdString();
        testing::write_gguf(tiny, path);
        const auto model = Model::load(path, {.device = Device::Cpu, .threads = 2});
        QCOMPARE(model->info().vocab_size, tiny.vocab_size);
        const AttentionMode mode =
            group == 1 ? AttentionMode::vanilla() : AttentionMode::self_extend(group, window);
        auto session = model->new_session({kTokens, mode, KvType::F32});
        ObservedLayers seen;
        QVERIFY2(observe(*session, seen, tiny.block_count, kTokens, tiny.embedding_length),
                 "the CPU backend does not report its layers");
        const std::vector<float> logits = session->logits_for(tokens);
        QCOMPARE(logits.size(), size_t(kTokens) * size_t(tiny.vocab_size));

        // Layer by layer: the first layer whose residual stream leaves the bound.
        QString layers = "every layer within the bound";
        for (int l = 0; l < tiny.block_count; ++l) {
            const double error =
                relative_error(seen.residual[size_t(l)].data(), expected_layers[size_t(l)]);
            if (error > kTolerance) {
                layers = QString("first layer past the bound: %1 of %2 (residual error %3)")
                             .arg(l)
                             .arg(tiny.block_count)
                             .arg(error);
                break;
            }
        }
        const double error = relative_error(logits.data(), expected);
        qInfo("%s, %s: max |delta| / max |logit| = %.3g; %s", tiny.architecture.c_str(),
              mode.describe().c_str(), error, qPrintable(layers));
        QVERIFY2(error <= kTolerance,
                 qPrintable(QString("logits error %1; %2").arg(error).arg(layers)));
        QVERIFY2(layers.startsWith("every"), qPrintable(layers));
    }
};

QTEST_APPLESS_MAIN(TestFamilies)
#include "tst_families.moc"
