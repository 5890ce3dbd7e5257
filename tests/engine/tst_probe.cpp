// The probe: the pass key planted in a real book excerpt at given depths, answered under a few
// candidate G and W on the demo model (512-token window).
#include <QFile>
#include <QtTest>

#include "selfextend/engine.h"
#include "selfextend/evaluation.h"
#include "test_paths.h"

using namespace selfextend;

class TestProbe : public QObject {
    Q_OBJECT
  private slots:
    void initTestCase() {
        SKIP_WITHOUT_SHARED();
        model_ = Model::load(testing::demo_model_path().toStdString(), {.device = Device::Cpu});
        QFile book(testing::shared_path("corpus/books/black_beauty.txt"));
        QVERIFY(book.open(QIODevice::ReadOnly));
        // About 900 tokens of prose from the middle of the book (past the licence header).
        document_ = QString::fromUtf8(book.readAll()).mid(20000, 3600).toStdString();
    }
    void cleanupTestCase() { model_.reset(); }

    void promptsHoldTheDocumentAndTheKeyAtTheDepths() {
        const std::vector<int32_t> documentTokens = model_->tokenize(document_, false);
        for (const double depth : {0.0, 0.2, 0.5, 0.8, 1.0}) {
            const PasskeyPrompt prompt =
                build_probe_prompt(model_->tokenizer(), document_, depth, "38117");
            const std::string text = model_->detokenize(prompt.tokens);
            const std::string needle = "The pass key is 38117. Remember it. 38117 is the pass key.";
            const size_t needleAt = text.find(needle);
            QVERIFY2(needleAt != std::string::npos, text.c_str());
            QVERIFY(text.find("There is an important info hidden") == 0);
            QVERIFY(text.rfind("What is the pass key? The pass key is") ==
                    text.size() - std::string("What is the pass key? The pass key is").size());
            // Every word of the document is there, in order, with the needle between two of
            // them: removing the needle leaves the document's words.
            const auto words = [](const std::string& s) {
                return QString::fromStdString(s).simplified().split(' ', Qt::SkipEmptyParts);
            };
            std::string withoutNeedle = text;
            withoutNeedle.erase(needleAt, needle.size());
            QStringList expected = words(document_);
            const QStringList got = words(withoutNeedle);
            QCOMPARE(got.mid(26, expected.size()), expected);  // after the 26-word introduction
            // The needle sits at the requested fraction of the document's tokens (a sentence
            // end near it): counted independently here from the document's own tokenization.
            const double intro =
                double(model_
                           ->tokenize("There is an important info hidden inside a lot of "
                                      "irrelevant text. Find it and memorize them. I will "
                                      "quiz you about the important information there.",
                                      true)
                           .size());
            const double at = (double(prompt.needle_token) - intro) / double(documentTokens.size());
            QVERIFY2(std::abs(at - depth) < 0.06,
                     qPrintable(QString("depth %1 planted at %2").arg(depth).arg(at)));
            QCOMPARE(prompt.depth, depth);
        }
    }

    void resultsPerCandidateAndDepth() {
        const int64_t documentTokens = int64_t(model_->tokenize(document_, false).size());
        ProbeOptions options;
        options.depths = {0.2, 0.5, 0.8};
        options.candidates = probe_candidates(512, documentTokens + 80);
        QVERIFY(options.candidates.size() >= 3);
        QVERIFY(options.candidates.front().is_vanilla());
        const AutoChoice automatic = choose_attention(512, documentTokens + 80);
        QCOMPARE(options.candidates[1],
                 AttentionMode::self_extend(automatic.group, automatic.window));
        int trialsSeen = 0;
        options.on_trial = [&](const AttentionMode&, const PasskeyTrial&) { ++trialsSeen; };
        Progress last;
        const auto results =
            run_probe(*model_, document_, options, [&](const Progress& p) { last = p; });
        QCOMPARE(results.size(), options.candidates.size());
        QCOMPARE(trialsSeen, int(3 * results.size()));
        QCOMPARE(last.done, last.total);
        QVERIFY(last.total > documentTokens);
        for (size_t c = 0; c < results.size(); ++c) {
            QCOMPARE(results[c].mode, options.candidates[c]);
            QCOMPARE(results[c].trials.size(), size_t(3));
            for (size_t d = 0; d < 3; ++d) {
                QCOMPARE(results[c].trials[d].depth, options.depths[d]);
                // The same key for a depth under every candidate.
                QCOMPARE(results[c].trials[d].key, results[0].trials[d].key);
                QCOMPARE(
                    results[c].trials[d].correct,
                    passkey_answer_correct(results[c].trials[d].answer, results[c].trials[d].key));
            }
            qInfo("%s: %d/3 found", results[c].mode.describe().c_str(), results[c].found());
        }
        // Past the 512-token window Self-Extend at Auto's choice finds more than vanilla.
        QVERIFY(results[1].found() > results[0].found());
        const size_t best = recommend_probe(results, options.candidates[1]);
        for (const ProbeResult& r : results) QVERIFY(r.found() <= results[best].found());
    }

    void recommendationBreaksTiesTowardAuto() {
        const auto result = [](AttentionMode mode, int found) {
            ProbeResult r;
            r.mode = mode;
            for (int k = 0; k < 3; ++k) r.trials.push_back({0, 0, "1", "", k < found});
            return r;
        };
        const std::vector<ProbeResult> results{result(AttentionMode::vanilla(), 1),
                                               result(AttentionMode::self_extend(16, 64), 3),
                                               result(AttentionMode::self_extend(4, 128), 3),
                                               result(AttentionMode::self_extend(4, 256), 2)};
        QCOMPARE(recommend_probe(results, AttentionMode::self_extend(4, 256)), size_t(2));
        QCOMPARE(recommend_probe(results, AttentionMode::self_extend(8, 64)), size_t(1));
    }

    void cancelStops() {
        ProbeOptions options;
        options.candidates = {AttentionMode::self_extend(4, 256)};
        CancelToken cancel;
        cancel.cancel();
        QVERIFY_THROWS_EXCEPTION(Cancelled, run_probe(*model_, document_, options, {}, &cancel));
    }

  private:
    std::shared_ptr<Model> model_;
    std::string document_;
};

QTEST_GUILESS_MAIN(TestProbe)
#include "tst_probe.moc"
