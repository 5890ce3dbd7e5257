// The probe ("Tune on document"): invented facts planted in a real book excerpt at given depths,
// asked about in the chat format under a few candidate G and W on the demo model (512-token
// window), each candidate reading the document once.
#include <QFile>
#include <QtTest>

#include "selfextend/engine.h"
#include "selfextend/error.h"
#include "selfextend/probe.h"
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

    void factsArePlantedAtTheirDepthsAsParagraphs() {
        const std::vector<double> depths{0.8, 0.0, 0.5, 1.0, 0.2};  // any order
        const auto facts = probe_facts().first(depths.size());
        const std::string planted = plant_facts(document_, depths, facts);
        const auto words = [](const std::string& s) {
            return QString::fromStdString(s).simplified().split(' ', Qt::SkipEmptyParts);
        };
        std::string withoutFacts = planted;
        for (size_t k = 0; k < depths.size(); ++k) {
            const std::string paragraph = std::string(facts[k].sentence) + "\n\n";
            const size_t at = planted.find(facts[k].sentence);
            QVERIFY2(at != std::string::npos, facts[k].sentence.data());
            // A paragraph of its own: a blank line (or the start) before it, one after it.
            QVERIFY(at == 0 || planted.compare(at - 2, 2, "\n\n") == 0);
            QVERIFY(at + facts[k].sentence.size() == planted.size() ||
                    planted.compare(at + facts[k].sentence.size(), 2, "\n\n") == 0);
            // At the requested fraction of the document (a sentence end near it), counted in the
            // document's bytes before it: the planted text less the facts before it.
            size_t factsBefore = 0;
            for (size_t n = 0; n < depths.size(); ++n) {
                const size_t other = planted.find(facts[n].sentence);
                if (other < at) factsBefore += facts[n].sentence.size() + 2;
            }
            const double fraction = double(at - factsBefore) / double(document_.size());
            QVERIFY2(std::abs(fraction - depths[k]) < 0.05,
                     qPrintable(QString("depth %1 planted at %2").arg(depths[k]).arg(fraction)));
            withoutFacts.erase(withoutFacts.find(facts[k].sentence), facts[k].sentence.size());
        }
        // Every word of the document is there, in order.
        QCOMPARE(words(withoutFacts), words(document_));
        QVERIFY_THROWS_EXCEPTION(Error, plant_facts(document_, depths, facts.first(2)));
    }

    void anAnswerStatesAFactWhateverItsCaseAndPunctuation() {
        const ProbeFact& password = probe_facts()[0];
        QCOMPARE(std::string(password.answer), std::string("bluebird-58"));
        QVERIFY(states_fact("The secret password is Bluebird 58.", password));
        QVERIFY(states_fact("bluebird-58", password));
        QVERIFY(!states_fact("The password is bluebird.", password));
        QVERIFY(!states_fact("bluebird-5", password));
        QVERIFY(!states_fact("", password));
    }

    void twoReadingsPastTheWindow() {
        // Past L: Auto's choice (W = 1 024, G = ceil(15 076 / 7 168) = 3) and the map's runner-up
        // (twice its W at the smallest G: ceil(14 052 / 6 144) = 3), no vanilla.
        QCOMPARE(probe_candidates({8192}, 16100),
                 (std::vector<AttentionMode>{AttentionMode::self_extend(3, 1024),
                                             AttentionMode::self_extend(3, 2048)}));
        // Inside it: vanilla and the mildest grouping.
        QCOMPARE(probe_candidates({8192}, 5000),
                 (std::vector<AttentionMode>{AttentionMode::vanilla(),
                                             AttentionMode::self_extend(2, 1024)}));
    }

    void resultsPerCandidateAndDepth() {
        const int64_t documentTokens = int64_t(model_->tokenize(document_, false).size());
        const int64_t needed = documentTokens + kProbeFramingTokens;
        ProbeOptions options;
        options.depths = {0.2, 0.5, 0.8};
        const std::vector<AttentionMode> candidates = probe_candidates({512}, needed);
        QCOMPARE(candidates.size(), size_t(2));
        const AutoChoice automatic = choose_attention({512}, needed);
        QCOMPARE(candidates[0], AttentionMode::self_extend(automatic.group, automatic.window));
        options.candidates = {AttentionMode::vanilla(), candidates[0], candidates[1]};
        // Facts in the forms the demo model was trained to retrieve (its card), so that what is
        // measured is the attention, not whether an 8M model follows a new kind of sentence.
        options.facts = {
            {"Remember this: the door code is 4821.", "What is the door code?", "4821"},
            {"Anna's favourite city is Oslo.", "What is Anna's favourite city?", "Oslo"},
            {"Remember this: the locker number is 5307.", "What is the locker number?", "5307"}};
        int trialsSeen = 0;
        Progress last;
        const auto results = run_probe(
            model_, document_, options, [&](const Progress& p) { last = p; },
            [&](const AttentionMode&, const ProbeTrial&) { ++trialsSeen; });
        QCOMPARE(results.size(), options.candidates.size());
        QCOMPARE(trialsSeen, int(3 * results.size()));
        QCOMPARE(last.done, last.total);
        // One reading of the document per candidate, and a few tokens per further question.
        QVERIFY(last.total > 3 * documentTokens);
        QVERIFY2(last.total < 3 * (documentTokens + 150), qPrintable(QString::number(last.total)));
        for (size_t c = 0; c < results.size(); ++c) {
            QCOMPARE(results[c].mode, options.candidates[c]);
            QCOMPARE(results[c].trials.size(), size_t(3));
            for (size_t d = 0; d < 3; ++d) {
                const ProbeTrial& trial = results[c].trials[d];
                QCOMPARE(trial.depth, options.depths[d]);
                QCOMPARE(trial.fact.answer, options.facts[d].answer);
                QCOMPARE(trial.correct, states_fact(trial.answer, trial.fact));
                qInfo("%s depth %.1f: %s", results[c].mode.describe().c_str(), trial.depth,
                      trial.answer.c_str());
            }
            qInfo("%s: %d/3 stated", results[c].mode.describe().c_str(), results[c].found());
        }
        // Past the 512-token window Self-Extend at Auto's choice states more than vanilla.
        QVERIFY(results[1].found() > results[0].found());
        // Auto's stays unless another stated two facts more.
        const size_t best = recommend_probe(results, options.candidates[1]);
        QVERIFY(best == 1 || results[best].found() >= results[1].found() + kProbeMargin);
    }

    // Another setting is recommended over Auto's only when it states two facts more; among
    // those that do, the one that states the most, then the one closest to Auto's.
    void recommendationNeedsTwoFactsMoreThanAuto() {
        const auto result = [](AttentionMode mode, int found) {
            ProbeResult r;
            r.mode = mode;
            for (int k = 0; k < 5; ++k) r.trials.push_back({0, probe_facts()[0], "", k < found});
            return r;
        };
        QCOMPARE(kProbeMargin, 2);
        const AttentionMode automatic = AttentionMode::self_extend(4, 256);
        const std::vector<ProbeResult> one_more{
            result(AttentionMode::vanilla(), 1), result(AttentionMode::self_extend(16, 64), 3),
            result(AttentionMode::self_extend(4, 128), 3), result(automatic, 2)};
        QCOMPARE(recommend_probe(one_more, automatic), size_t(3));
        const std::vector<ProbeResult> two_more{
            result(AttentionMode::vanilla(), 1), result(AttentionMode::self_extend(16, 64), 4),
            result(AttentionMode::self_extend(4, 128), 4), result(automatic, 2)};
        QCOMPARE(recommend_probe(two_more, automatic), size_t(2));  // of the two, closer to Auto
        const std::vector<ProbeResult> none{result(automatic, 0),
                                            result(AttentionMode::self_extend(4, 512), 1)};
        QCOMPARE(recommend_probe(none, automatic), size_t(0));
        // Auto's setting not among the results: the closest one stands in for it.
        QCOMPARE(recommend_probe(one_more, AttentionMode::self_extend(8, 64)), size_t(1));
        QCOMPARE(recommend_probe(two_more, AttentionMode::self_extend(4, 64)), size_t(2));
    }

    void cancelStops() {
        ProbeOptions options;
        options.candidates = {AttentionMode::self_extend(4, 256)};
        CancelToken cancel;
        cancel.cancel();
        QVERIFY_THROWS_EXCEPTION(Cancelled, run_probe(model_, document_, options, {}, {}, &cancel));
    }

  private:
    std::shared_ptr<Model> model_;
    std::string document_;
};

QTEST_GUILESS_MAIN(TestProbe)
#include "tst_probe.moc"
