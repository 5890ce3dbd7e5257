// Sessions on the demo model: bad input ends in clear errors, cancel leaves the session
// reusable, generation streams and stops; the sampler's filters do what they claim.
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>
#include <fstream>

#include "sampling/sampler.h"
#include "selfextend/engine.h"
#include "test_paths.h"

using namespace selfextend;

namespace {
std::shared_ptr<Model> demo_model() {
    return Model::load(testing::demo_model_path().toStdString(), {.device = Device::Cpu});
}

using testing::error_of;
}  // namespace

class TestSession : public QObject {
    Q_OBJECT
  private slots:
    void initTestCase() { model_ = demo_model(); }
    void cleanupTestCase() { model_.reset(); }

    void badArgumentsAreClearErrors() {
        QVERIFY(error_of([&] {
                    model_->new_session({0, AttentionMode::self_extend(0, 10)});
                }).contains("G must be at least 1"));
        QVERIFY(error_of([&] {
                    model_->new_session({0, AttentionMode::self_extend(4, -1)});
                }).contains("must not be negative"));
        QVERIFY(error_of([&] {
                    model_->new_session({0, AttentionMode::self_extend(4, 600)});
                }).contains("exceeds"));
        auto session = model_->new_session({16, AttentionMode::vanilla()});
        QVERIFY(error_of([&] { session->prefill({}); }).contains("empty prompt"));
        std::vector<int32_t> long_prompt(17, 5);
        QVERIFY(error_of([&] { session->prefill(long_prompt); }).contains("does not fit"));
        QCOMPARE(session->position(), int64_t(0));
        std::vector<int32_t> bad_token{1, 99999};
        QVERIFY(error_of([&] { session->prefill(bad_token); }).contains("out of the vocabulary"));
        QCOMPARE(session->position(), int64_t(0));
        QVERIFY(error_of([&] { session->generate(4, {}, {}); }).contains("prefill"));
    }

    void modelFilesThatAreNotModels() {
        QTemporaryDir dir;
        const std::string missing = (dir.path() + "/missing.gguf").toStdString();
        QVERIFY(error_of([&] { Model::load(missing); }).contains("cannot open"));
        const std::string garbage = (dir.path() + "/garbage.gguf").toStdString();
        std::ofstream(garbage) << "this is not a model";
        QVERIFY(error_of([&] { Model::load(garbage); }).contains("bad magic"));
        // A tokenizer-only GGUF has no weights.
        SKIP_WITHOUT_SHARED();
        QVERIFY(error_of([&] {
                    Model::load(
                        testing::shared_path("vocab/ggml-vocab-llama-spm.gguf").toStdString());
                }).contains("missing tensor"));
    }

    void cancelMidPrefillRestoresTheSession() {
        auto session = model_->new_session({2000, AttentionMode::self_extend(4, 256)});
        std::vector<int32_t> prompt{1};
        for (int k = 1; k < 1500; ++k) prompt.push_back(int32_t(3 + k % 4000));
        const std::vector<int32_t> first{1, 374, 768};
        session->prefill(first);
        const std::vector<float> before(session->last_logits().begin(),
                                        session->last_logits().end());
        CancelToken cancel;
        int reports = 0;
        bool cancelled = false;
        try {
            session->prefill(
                prompt,
                [&](const Progress& p) {
                    ++reports;
                    QVERIFY(p.done > 0 && p.done <= p.total && p.tokens_per_second > 0);
                    if (p.done >= 256) cancel.cancel();
                },
                &cancel);
        } catch (const Cancelled&) {
            cancelled = true;
        }
        QVERIFY(cancelled);
        QVERIFY(reports >= 1);
        QCOMPARE(session->position(), int64_t(3));
        // Still usable, and its state is what it was before the cancelled call.
        const std::vector<int32_t> next{3962};
        session->prefill(next);
        auto fresh = model_->new_session({2000, AttentionMode::self_extend(4, 256)});
        const std::vector<int32_t> all{1, 374, 768, 3962};
        fresh->prefill(all);
        for (size_t v = 0; v < 4096; ++v)
            QVERIFY(std::abs(session->last_logits()[v] - fresh->last_logits()[v]) < 1e-4f);
        Q_UNUSED(before);
    }

    void generateStreamsUtf8AndStops() {
        auto session = model_->new_session({128, AttentionMode::vanilla()});
        session->prefill(model_->tokenize(
            "The pass key is 38117. Remember it. What is the pass key? The pass key is", true));
        std::string text;
        int calls = 0;
        const GenerateStats stats = session->generate(6, {}, [&](const Token& token) {
            ++calls;
            text += token.text;
            return true;
        });
        QCOMPARE(stats.tokens, int64_t(calls));
        QVERIFY(stats.tokens <= 6);
        QVERIFY2(QString::fromStdString(text).trimmed().startsWith("38117"), text.c_str());
        // A callback returning false stops at once.
        auto other = model_->new_session({128, AttentionMode::vanilla()});
        other->prefill(model_->tokenize("Once upon a time", true));
        const GenerateStats stopped = other->generate(50, {}, [&](const Token&) { return false; });
        QVERIFY(stopped.stopped_by_callback);
        QCOMPARE(stopped.tokens, int64_t(1));
    }

    void samplerGreedyAndFilters() {
        std::vector<float> logits{0.0f, 3.0f, 1.0f, 2.9f, -5.0f};
        const std::vector<int32_t> none;
        Sampler greedy(SamplingParams{});
        QCOMPARE(greedy.sample(logits, none), 1);
        // Repetition penalty moves greedy off a recent token.
        SamplingParams penalised;
        penalised.repeat_penalty = 2.0f;
        Sampler repeat(penalised);
        const std::vector<int32_t> recent{1};
        QCOMPARE(repeat.sample(logits, recent), 3);
        // top-k = 2: only tokens 1 and 3 can come out; frequencies follow their softmax at T = 1.
        SamplingParams topk;
        topk.temperature = 1.0f;
        topk.top_k = 2;
        topk.seed = 7;
        Sampler sampler(topk);
        int counts[5] = {};
        for (int k = 0; k < 4000; ++k) ++counts[sampler.sample(logits, none)];
        QCOMPARE(counts[0] + counts[2] + counts[4], 0);
        const double expected = 1.0 / (1.0 + std::exp(-0.1));  // P(token 1)
        QVERIFY(std::abs(counts[1] / 4000.0 - expected) < 0.03);
        // P(token 1) = 0.478 at T = 1: top-p = 0.45 keeps it alone.
        SamplingParams nucleus;
        nucleus.temperature = 1.0f;
        nucleus.top_k = 0;
        nucleus.top_p = 0.45f;
        Sampler p(nucleus);
        for (int k = 0; k < 50; ++k) QCOMPARE(p.sample(logits, none), 1);
        // min-p = 0.5 drops tokens below half the best probability: only 1 and 3 remain.
        SamplingParams minp;
        minp.temperature = 1.0f;
        minp.top_k = 0;
        minp.min_p = 0.5f;
        Sampler m(minp);
        for (int k = 0; k < 200; ++k) {
            const int id = m.sample(logits, none);
            QVERIFY(id == 1 || id == 3);
        }
        // The same seed gives the same sequence.
        Sampler a(topk), b(topk);
        for (int k = 0; k < 100; ++k) QCOMPARE(a.sample(logits, none), b.sample(logits, none));
        QVERIFY_THROWS_EXCEPTION(Error, Sampler(SamplingParams{.top_p = 0.0f}));
    }

  private:
    std::shared_ptr<Model> model_;
};

QTEST_APPLESS_MAIN(TestSession)
#include "tst_session.moc"
