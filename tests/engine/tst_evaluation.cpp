// Self-Extend's effect on the demo model (512-token window), measured as the issue asks:
// pass-key retrieval past the window, and perplexity at 4x the window.
#include <QtTest>

#include "selfextend/document.h"
#include "selfextend/engine.h"
#include "selfextend/evaluation.h"
#include "test_paths.h"

using namespace selfextend;

class TestEvaluation : public QObject {
    Q_OBJECT
  private slots:
    void initTestCase() {
        model_ = Model::load(testing::demo_model_path().toStdString(), {.device = Device::Cpu});
    }
    void cleanupTestCase() { model_.reset(); }

    void passkeyPromptIsWellFormed() {
        const PasskeyPrompt prompt = build_passkey_prompt(model_->tokenizer(), 1000, 0.5, "38117");
        QVERIFY(prompt.tokens.size() <= 1000 && prompt.tokens.size() > 950);
        const std::string text = model_->detokenize(prompt.tokens);
        QVERIFY(text.find("The pass key is 38117. Remember it. 38117 is the pass key.") !=
                std::string::npos);
        QVERIFY(text.rfind("What is the pass key? The pass key is") == text.size() - 37);
        QVERIFY(text.find("There is an important info hidden") == 0);
        QVERIFY(prompt.needle_token > 400 && prompt.needle_token < 600);
        QVERIFY(passkey_answer_correct(" 38117.", "38117"));
        // Shorter than the prompt without any filler: an error, not a longer prompt.
        QVERIFY_THROWS_EXCEPTION(Error,
                                 build_passkey_prompt(model_->tokenizer(), 64, 0.5, "38117"));
        QVERIFY(!passkey_answer_correct(" 3811", "38117"));
        // The whole number must match: a longer number is a wrong answer.
        QVERIFY(!passkey_answer_correct(" 381170", "38117"));
        QVERIFY(!passkey_answer_correct("38117.5", "38117"));
        QVERIFY(passkey_answer_correct(" 38117 is the key", "38117"));
        QVERIFY(passkey_answer_correct("\n38117", "38117"));
    }

    void passkeyPastTheWindow_data() {
        QTest::addColumn<int>("length");
        QTest::addColumn<int>("group");
        QTest::newRow("1000 tokens, G4") << 1000 << 4;
        QTest::newRow("1500 tokens, G6") << 1500 << 6;
        QTest::newRow("2000 tokens, G8") << 2000 << 8;
    }

    void passkeyPastTheWindow() {
        QFETCH(int, length);
        QFETCH(int, group);
        PasskeyOptions options;
        options.lengths = {length};
        options.depths = {0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95};
        options.modes = {AttentionMode::vanilla(), AttentionMode::self_extend(group, 256)};
        options.seed = 2024;
        const auto results = run_passkey(*model_, options);
        QCOMPARE(results.size(), size_t(2));
        qInfo("%d tokens: vanilla %d/%d, self-extend G=%d W=256 %d/%d", length, results[0].correct,
              results[0].trials, group, results[1].correct, results[1].trials);
        QCOMPARE(results[0].trials, 10);
        QVERIFY(results[0].accuracy() <= 0.2);
        QVERIFY(results[1].accuracy() >= 0.75);
    }

    // run_passkey serves the prompts of a length from one session, prefilling each only from
    // where it leaves the previous one. Each answer must be what a fresh session gives.
    void passkeyAnswersEqualFreshSessions() {
        PasskeyOptions options;
        options.lengths = {900};
        options.depths = {0.2, 0.8, 0.5};
        options.trials_per_depth = 2;
        options.modes = {AttentionMode::vanilla(), AttentionMode::self_extend(4, 256)};
        options.seed = 2024;
        const auto results = run_passkey(*model_, options);
        QCOMPARE(results.size(), size_t(2));
        for (const PasskeyResult& result : results) {
            QCOMPARE(result.details.size(), size_t(6));
            for (size_t k = 0; k < result.details.size(); ++k) {
                const PasskeyTrial& trial = result.details[k];
                QCOMPARE(trial.depth, options.depths[k / 2]);  // in the options' order
                const PasskeyPrompt prompt =
                    build_passkey_prompt(model_->tokenizer(), 900, trial.depth, trial.key);
                QCOMPARE(trial.length, int64_t(prompt.tokens.size()));
                auto fresh = model_->new_session({trial.length + 8, result.mode});
                fresh->prefill(prompt.tokens);
                std::string answer;
                fresh->generate(8, SamplingParams{}, [&](const Token& token) {
                    answer += token.text;
                    return true;
                });
                QCOMPARE(QString::fromStdString(trial.answer), QString::fromStdString(answer));
            }
        }
        qInfo("vanilla %d/6, self-extend %d/6", results[0].correct, results[1].correct);
        QVERIFY(results[1].correct >= 2);  // answers worth comparing: some keys are found
    }

    void perplexityAtFourTimesTheWindow() {
        SKIP_WITHOUT_SHARED();
        const Document book = load_text_document(
            testing::shared_path("corpus/books/pg2610_notre_dame_de_paris.txt").toStdString());
        // A slice past the front matter, as held-out text.
        const std::vector<int32_t> tokens =
            model_->tokenize(book.text.substr(book.text.size() / 2, 40000), false);
        const auto vanilla = run_perplexity(*model_, tokens, 2048, 1, AttentionMode::vanilla());
        const auto extended =
            run_perplexity(*model_, tokens, 2048, 1, AttentionMode::self_extend(8, 128));
        qInfo("PPL@2048: vanilla %.1f, self-extend G=8 W=128 %.1f", vanilla.perplexity,
              extended.perplexity);
        QCOMPARE(vanilla.tokens_scored, int64_t(2047));
        QVERIFY(extended.perplexity < 0.5 * vanilla.perplexity);
        // Windows of 256 tokens with W = 300: every pair is a neighbour pair, so the Self-Extend
        // path (grouped queries computed, tiles classified) must give vanilla's numbers...
        const auto short_vanilla =
            run_perplexity(*model_, tokens, 256, 2, AttentionMode::vanilla());
        const auto short_all_neighbours =
            run_perplexity(*model_, tokens, 256, 2, AttentionMode::self_extend(4, 300));
        qInfo("PPL@256: vanilla %.6f, self-extend G=4 W=300 %.6f", short_vanilla.perplexity,
              short_all_neighbours.perplexity);
        QVERIFY(std::abs(short_vanilla.perplexity - short_all_neighbours.perplexity) <
                1e-5 * short_vanilla.perplexity);
        QVERIFY(short_vanilla.perplexity < 400);
        // ...while grouping inside the same windows changes them (the check above can fail).
        const auto short_grouped =
            run_perplexity(*model_, tokens, 256, 2, AttentionMode::self_extend(4, 32));
        QVERIFY(std::abs(short_vanilla.perplexity - short_grouped.perplexity) >
                1e-3 * short_vanilla.perplexity);
    }

    void perplexityNeedsAWholeWindow() {
        const std::vector<int32_t> few(100, 5);
        QVERIFY_THROWS_EXCEPTION(Error,
                                 run_perplexity(*model_, few, 512, 1, AttentionMode::vanilla()));
    }

  private:
    std::shared_ptr<Model> model_;
};

QTEST_APPLESS_MAIN(TestEvaluation)
#include "tst_evaluation.moc"
