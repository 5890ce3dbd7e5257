// Whole models through the quantized types. Decode (a token at a time) multiplies quantized
// weights with activations rounded to 16-bit integers (backend/cpu/quantized_dot.h); prefill
// converts the weights to float and keeps float activations. So for one model and one prompt,
// decode against prefill isolates what the integer activations cost, and prefill against the
// float64 reference of ../shared what each weight type costs. The whole model must stay within
// 3e-2 of the largest logit of a float64 forward pass; the activations may take a small part of
// that (8-bit ones took 3.6e-2 on SmolLM2 alone, which is why they are 16-bit). Each quantized
// file is also read back as input to quantize_model: its F32 copy must give the same logits.
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>
#include <cmath>

#include "backend/cpu/integer_matmul.h"
#include "backend/cpu/kernels.h"
#include "demo_reference.h"
#include "gguf/dtype.h"
#include "selfextend/engine.h"
#include "selfextend/quantize.h"
#include "test_paths.h"

using namespace selfextend;

namespace {

// What rounding the activations may move the logits by, relative to the largest.
constexpr double kActivationTolerance = 3e-3;

struct Comparison {
    double error = 0;      // max |a - b| over max |b|
    double agreement = 0;  // share of positions with the same top token
};

// a and b hold logits for the same positions, [positions x vocab].
Comparison compare(const float* a, const float* b, size_t positions, size_t vocab) {
    double worst = 0, scale = 0;
    size_t agree = 0;
    for (size_t p = 0; p < positions; ++p) {
        const float* x = a + p * vocab;
        const float* y = b + p * vocab;
        for (size_t v = 0; v < vocab; ++v) {
            worst = std::max(worst, double(std::abs(x[v] - y[v])));
            scale = std::max(scale, double(std::abs(y[v])));
        }
        agree += std::max_element(x, x + vocab) - x == std::max_element(y, y + vocab) - y;
    }
    return {worst / scale, double(agree) / double(positions)};
}

// The logits of every position, one token at a time (the decode path).
std::vector<float> decode_logits(Model& model, const std::vector<int32_t>& tokens) {
    auto session = model.new_session({int64_t(tokens.size()), AttentionMode::vanilla()});
    std::vector<float> all;
    for (const int32_t token : tokens) {
        session->prefill(std::span<const int32_t>(&token, 1));
        const auto logits = session->last_logits();
        all.insert(all.end(), logits.begin(), logits.end());
    }
    return all;
}

std::vector<float> prefill_logits(Model& model, const std::vector<int32_t>& tokens) {
    return model.new_session({int64_t(tokens.size()), AttentionMode::vanilla()})
        ->logits_for(tokens);
}

// The vanilla run's logits of the demo model's float64 reference (demo_reference.h).
const std::vector<float>& vanilla_logits(const testing::DemoReference& ref) {
    for (const testing::DemoReference::Run& run : ref.runs)
        if (run.group == 1) return run.logits;
    qFatal("the demo reference has no vanilla run");
}

}  // namespace

class TestQuantizedModels : public QObject {
    Q_OBJECT
  private slots:
    void demoModelInEveryType_data() {
        // The prefill bound is each type's own error on this small model as the engine's
        // quantizers write it (measured: Q8_0 0.033, Q6_K 0.070, Q5_K 0.19, Q5_0 0.20, Q5_1
        // 0.23, Q4_0 0.34, Q4_1 0.37, Q4_K 0.37, Q3_K 0.63, Q2_K 1.14), with about 1.4x room: a
        // regression bound, loose for the 2- and 3-bit types, whose range-covering quantizers
        // (dtype.h) do not search for the best scales as llama.cpp's do. The decode bound is the
        // one that checks the integer path, the same for every type.
        QTest::addColumn<QString>("type");
        QTest::addColumn<double>("prefillTolerance");
        QTest::newRow("Q8_0") << "Q8_0" << 5e-2;
        QTest::newRow("Q6_K") << "Q6_K" << 0.1;
        QTest::newRow("Q5_K") << "Q5_K" << 0.27;
        QTest::newRow("Q5_0") << "Q5_0" << 0.28;
        QTest::newRow("Q5_1") << "Q5_1" << 0.33;
        QTest::newRow("Q4_0") << "Q4_0" << 0.5;
        QTest::newRow("Q4_1") << "Q4_1" << 0.52;
        QTest::newRow("Q4_K") << "Q4_K" << 0.52;
        QTest::newRow("Q3_K") << "Q3_K" << 0.9;
        QTest::newRow("Q2_K") << "Q2_K" << 1.6;
    }

    void demoModelInEveryType() {
        SKIP_WITHOUT_SHARED();
        QFETCH(QString, type);
        QFETCH(double, prefillTolerance);
        QTemporaryDir dir;
        const std::string path = (dir.path() + "/demo.gguf").toStdString();
        const QuantizeResult result =
            quantize_model(testing::demo_model_path().toStdString(), path, type.toStdString());
        QCOMPARE(result.tensors_converted, 58);  // every matrix
        auto model = Model::load(path, {.device = Device::Cpu});
        const size_t vocab = size_t(model->info().vocab_size);
        const testing::DemoReference ref = testing::read_demo_reference("notre_dame_700");

        // Prefill against the float64 reference, at the stored positions.
        const std::vector<float> prefill = prefill_logits(*model, ref.tokens);
        std::vector<float> at_positions;
        for (const int p : ref.positions)
            at_positions.insert(at_positions.end(), prefill.begin() + ptrdiff_t(size_t(p) * vocab),
                                prefill.begin() + ptrdiff_t(size_t(p + 1) * vocab));
        const Comparison weights =
            compare(at_positions.data(), vanilla_logits(ref).data(), ref.positions.size(), vocab);

        // Decode against prefill, every position of the first 96 tokens.
        const std::vector<int32_t> head(ref.tokens.begin(), ref.tokens.begin() + 96);
        const std::vector<float> decoded = decode_logits(*model, head);
        const Comparison activations = compare(decoded.data(), prefill.data(), head.size(), vocab);

        qInfo("%s: prefill vs float64 %.3g (top-1 %.2f); decode vs prefill %.3g (top-1 %.3f)",
              qPrintable(type), weights.error, weights.agreement, activations.error,
              activations.agreement);
        QVERIFY2(weights.error <= prefillTolerance, qPrintable(QString::number(weights.error)));
        QVERIFY2(activations.error <= kActivationTolerance,
                 qPrintable(QString::number(activations.error)));
        QVERIFY(activations.error > 0);          // the two paths really differ
        QVERIFY(activations.agreement >= 0.97);  // near-ties of the coarse types may flip

        // The type read back as input: an F32 copy holds exactly the values the type stands for,
        // so its prefill (float panels) gives the same logits to the bit as the type's own, where
        // that is float too; where the kernels multiply the type in integers (integer_matmul.h)
        // it differs by the activations' rounding only, as decode does.
        const std::string copy_path = (dir.path() + "/copy.gguf").toStdString();
        QCOMPARE(quantize_model(path, copy_path, "F32").tensors_converted, 58);
        auto copy = Model::load(copy_path, {.device = Device::Cpu});
        const std::vector<float> copy_prefill = prefill_logits(*copy, head);
        const std::vector<float> type_prefill = prefill_logits(*model, head);
        const DTypeTraits* named = find_dtype_named(type.toStdString());
        QVERIFY(named);
        if (cpu::kernels().integer_prefill && cpu::multiplies_in_integers(named->type)) {
            const Comparison c =
                compare(type_prefill.data(), copy_prefill.data(), head.size(), vocab);
            QVERIFY2(c.error <= kActivationTolerance, qPrintable(QString::number(c.error)));
            QVERIFY(c.error > 0);
        } else {
            QVERIFY(copy_prefill == type_prefill);
        }
    }

    void smollm2DecodeMatchesPrefill() {
        // The real model: Q4_1 matrices, a Q8_0 embedding (also the output projection).
        SKIP_WITHOUT_MODEL(testing::smollm2_path());
        auto model = Model::load(testing::smollm2_path().toStdString(), {.device = Device::Cpu});
        const int vocab = model->info().vocab_size;
        std::vector<int32_t> tokens;
        for (int k = 0; k < 48; ++k) tokens.push_back(int32_t(100 + (k * 7919) % (vocab - 200)));
        const std::vector<float> prefill = prefill_logits(*model, tokens);
        const std::vector<float> decoded = decode_logits(*model, tokens);
        const Comparison c = compare(decoded.data(), prefill.data(), tokens.size(), size_t(vocab));
        qInfo("SmolLM2 Q4_1: decode vs prefill %.3g of the largest logit, top-1 %.3f", c.error,
              c.agreement);
        QVERIFY2(c.error <= kActivationTolerance, qPrintable(QString::number(c.error)));
        QVERIFY(c.agreement >= 0.97);
    }
};

QTEST_APPLESS_MAIN(TestQuantizedModels)
#include "tst_quantized_models.moc"
