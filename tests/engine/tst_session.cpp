// Sessions on the demo model: bad input ends in clear errors, cancel leaves the session
// reusable, generation streams and stops; the sampler's filters do what they claim.
#include <QTemporaryDir>
#include <QtTest>
#include <atomic>
#include <cmath>
#include <fstream>
#include <thread>

#include "backend/cpu/thread_pool.h"
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
        // (fed in the same chunks: with the F16 cache, a chunk of 4 tokens can round K and V
        // differently from chunks of 3 and 1)
        auto fresh = model_->new_session({2000, AttentionMode::self_extend(4, 256)});
        fresh->prefill(first);
        fresh->prefill(next);
        for (size_t v = 0; v < 4096; ++v)
            QVERIFY(std::abs(session->last_logits()[v] - fresh->last_logits()[v]) < 1e-4f);
        Q_UNUSED(before);
    }

    // prefill_reusing keeps the chunks that ran whole when stopped: the same prompt asked again
    // runs only the rest, and its logits are a whole run's.
    void stoppedReusingPrefillGoesOnWhereItStopped() {
        const AttentionMode mode = AttentionMode::self_extend(4, 256);
        auto session = model_->new_session({2000, mode});
        std::vector<int32_t> prompt{1};
        for (int k = 1; k < 1500; ++k) prompt.push_back(int32_t(3 + k % 4000));
        CancelToken cancel;
        int64_t stopped_at = 0;
        QVERIFY_THROWS_EXCEPTION(Cancelled, session->prefill_reusing(
                                                prompt,
                                                [&](const Progress& p) {
                                                    stopped_at = p.done;
                                                    if (p.done >= 256) cancel.cancel();
                                                },
                                                &cancel));
        QVERIFY(stopped_at >= 256 && stopped_at < int64_t(prompt.size()));
        QCOMPARE(session->position(), stopped_at);
        QVERIFY(std::equal(session->tokens().begin(), session->tokens().end(), prompt.begin()));
        int64_t ran = 0;
        QCOMPARE(session->prefill_reusing(prompt, [&](const Progress& p) { ran = p.total; }),
                 stopped_at);
        QCOMPARE(ran, int64_t(prompt.size()) - stopped_at);
        auto fresh = model_->new_session({2000, mode});
        fresh->prefill(std::span(prompt).first(size_t(stopped_at)));  // the same chunks
        fresh->prefill(std::span(prompt).subspan(size_t(stopped_at)));
        for (size_t v = 0; v < 4096; ++v)
            QVERIFY(std::abs(session->last_logits()[v] - fresh->last_logits()[v]) < 1e-4f);
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

    void failedCallsRestoreTheLogits() {
        auto session = model_->new_session({1000, AttentionMode::self_extend(2, 200)});
        const std::vector<int32_t> start{1, 374, 768};
        session->prefill(start);
        const std::vector<float> before(session->last_logits().begin(),
                                        session->last_logits().end());
        std::vector<int32_t> long_input{3962};
        for (int k = 0; k < 600; ++k) long_input.push_back(int32_t(5 + k % 3000));
        CancelToken cancel;
        const auto cancel_after_first_chunk = [&](const Progress&) { cancel.cancel(); };
        QVERIFY_THROWS_EXCEPTION(
            Cancelled, session->logits_for(long_input, cancel_after_first_chunk, &cancel));
        cancel.reset();
        QVERIFY_THROWS_EXCEPTION(Cancelled,
                                 session->score(long_input, cancel_after_first_chunk, &cancel));
        QCOMPARE(session->position(), int64_t(3));
        const auto after = session->last_logits();
        QCOMPARE(after.size(), before.size());
        for (size_t v = 0; v < before.size(); ++v) QCOMPARE(after[v], before[v]);
        // An empty session stays empty: generate() still asks for a prompt.
        auto empty = model_->new_session({1000, AttentionMode::vanilla()});
        cancel.reset();
        QVERIFY_THROWS_EXCEPTION(Cancelled,
                                 empty->score(long_input, cancel_after_first_chunk, &cancel));
        QVERIFY(error_of([&] { empty->generate(3, {}, {}); }).contains("prefill"));
    }

    void badIdAfterAChunkBoundaryIsAnError() {
        auto session = model_->new_session({400, AttentionMode::vanilla()});
        std::vector<int32_t> tokens(300, 7);
        tokens[0] = 1;
        tokens[256] = 2000000000;  // in the second chunk
        QVERIFY(error_of([&] { session->score(tokens); }).contains("out of the vocabulary"));
        QCOMPARE(session->position(), int64_t(0));
    }

    void fullContextStopsWithoutRepeating() {
        auto session = model_->new_session({12, AttentionMode::vanilla()});
        session->prefill(model_->tokenize("Once upon a time there was", true));
        const int64_t room = 12 - session->position();
        int calls = 0;
        const GenerateStats first =
            session->generate(20, {}, [&](const Token&) { return ++calls, true; });
        QCOMPARE(first.tokens, room);
        QCOMPARE(calls, int(room));
        QVERIFY(first.stopped_by_context_full || first.stopped_by_eos);
        QCOMPARE(session->position(), int64_t(12));
        const GenerateStats again =
            session->generate(5, {}, [&](const Token&) { return ++calls, true; });
        QCOMPARE(again.tokens, int64_t(0));
        QVERIFY(again.stopped_by_context_full);
        QCOMPARE(calls, int(room));
    }

    // A follow-up's prompt outgrows the session its first question was made for: asked with
    // room for the answer, the cache grows for it too, so the answer is not cut to nothing.
    void followUpGrowsRoomForItsAnswer() {
        const std::vector<int32_t> first = model_->tokenize("Once upon a time there was", true);
        const std::vector<int32_t> longer = model_->tokenize(
            "Once upon a time there was a king who had three daughters, and", true);
        for (const int64_t room : {int64_t(0), int64_t(6)}) {
            auto session =
                model_->new_session({int64_t(first.size()) + 2, AttentionMode::vanilla()});
            session->prefill_reusing(first);
            session->prefill_reusing(longer, {}, nullptr, room);
            QCOMPARE(session->position(), int64_t(longer.size()));
            const GenerateStats answer = session->generate(6, {}, {});
            qInfo("room %lld: %lld tokens generated", static_cast<long long>(room),
                  static_cast<long long>(answer.tokens));
            if (room == 0)
                QVERIFY(answer.stopped_by_context_full && answer.tokens == 0);
            else
                QVERIFY(!answer.stopped_by_context_full &&
                        (answer.tokens == 6 || answer.stopped_by_eos));
        }
    }

    void repeatPenaltyLeavesThePromptAlone() {
        // A prompt whose greedy next token is one of its own: the penalty must not push the
        // answer off quoting it, while the answer's own tokens (a continued answer's included)
        // are penalised.
        const std::vector<int32_t> prompt = model_->tokenize(
            "Remember this: the door code is 4821. Again: the door code is 4821. The door code is",
            true);
        const auto first_tokens = [&](const SamplingParams& sampling, int n) {
            auto session = model_->new_session({256, AttentionMode::vanilla()});
            session->prefill(prompt);
            std::vector<int32_t> ids;
            session->generate(n, sampling, [&](const Token& t) {
                ids.push_back(t.id);
                return true;
            });
            return ids;
        };
        const int32_t greedy = first_tokens({}, 1).at(0);
        QVERIFY2(std::find(prompt.end() - std::min<ptrdiff_t>(64, ssize(prompt)), prompt.end(),
                           greedy) != prompt.end(),
                 "the greedy answer's first token must be one of the prompt's last 64");
        SamplingParams penalised;
        penalised.repeat_penalty = 1000.0f;
        QCOMPARE(first_tokens(penalised, 1).at(0), greedy);

        // Within the answer, across a Continue: no token twice under so strong a penalty.
        auto session = model_->new_session({256, AttentionMode::vanilla()});
        session->prefill(prompt);
        std::vector<int32_t> answer;
        const auto collect = [&](const Token& t) {
            answer.push_back(t.id);
            return true;
        };
        session->generate(12, penalised, collect);
        session->generate(12, penalised, collect);  // Continue: the same answer goes on
        QCOMPARE(answer.size(), size_t(24));
        std::vector<int32_t> sorted = answer;
        std::sort(sorted.begin(), sorted.end());
        QVERIFY2(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end(),
                 "a token came twice in a penalised answer");
        // Without the penalty the same answer repeats itself (so the check above can fail).
        auto plain = model_->new_session({256, AttentionMode::vanilla()});
        plain->prefill(prompt);
        std::vector<int32_t> unpenalised;
        plain->generate(24, {}, [&](const Token& t) {
            unpenalised.push_back(t.id);
            return true;
        });
        std::sort(unpenalised.begin(), unpenalised.end());
        QVERIFY(std::adjacent_find(unpenalised.begin(), unpenalised.end()) != unpenalised.end());
    }

    void sessionsOfOneModelOnTwoThreads() {
        std::vector<int32_t> tokens{1};
        for (int k = 1; k < 300; ++k) tokens.push_back(int32_t(3 + (k * 37) % 4000));
        const auto expected =
            model_->new_session({300, AttentionMode::self_extend(4, 64)})->logits_for(tokens);
        std::vector<float> results[2];
        std::thread threads[2];
        for (int t = 0; t < 2; ++t)
            threads[t] = std::thread([&, t] {
                results[t] = model_->new_session({300, AttentionMode::self_extend(4, 64)})
                                 ->logits_for(tokens);
            });
        for (auto& thread : threads) thread.join();
        for (const auto& result : results) {
            QCOMPARE(result.size(), expected.size());
            double worst = 0;
            for (size_t k = 0; k < result.size(); ++k)
                worst = std::max(worst, double(std::abs(result[k] - expected[k])));
            QVERIFY(worst < 1e-4);
        }
    }

    void threadPoolCarriesExceptionsBack() {
        cpu::ThreadPool pool(2);
        std::atomic<int> done{0};
        QVERIFY_THROWS_EXCEPTION(std::runtime_error,
                                 pool.parallel_for(100, 1, [&](int64_t begin, int64_t) {
                                     if (begin == 37) throw std::runtime_error("piece 37");
                                     ++done;
                                 }));
        // The pool is still usable and runs every piece of the next loop.
        std::atomic<int64_t> sum{0};
        pool.parallel_for(1000, 7, [&](int64_t begin, int64_t end) {
            for (int64_t k = begin; k < end; ++k) sum += k;
        });
        QCOMPARE(sum.load(), int64_t(999 * 1000 / 2));
    }

    void samplerWithoutFiniteLogits() {
        const std::vector<int32_t> none;
        SamplingParams warm;
        warm.temperature = 0.8f;
        Sampler sampler(warm);
        const std::vector<float> minus_infinity(8, -INFINITY);
        const int32_t id = sampler.sample(minus_infinity, none);
        QVERIFY(id >= 0 && id < 8);
        std::vector<float> with_nan{0.5f, NAN, 2.0f, -1.0f};
        QCOMPARE(Sampler(SamplingParams{}).sample(with_nan, none), 2);
        for (int k = 0; k < 50; ++k) QVERIFY(sampler.sample(with_nan, none) != 1);
        std::vector<float> with_infinity{0.5f, INFINITY, 2.0f};
        QCOMPARE(sampler.sample(with_infinity, none), 1);
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
