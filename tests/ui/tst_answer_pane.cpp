// One answer pane on its own (issue 22, items 6, 7, 16 and 18): what a finished run says when the
// model gave no answer, when "Max new tokens" cut the answer, counts of one token, and a New
// conversation that takes the old answer's sources with it.
#include <QSignalSpy>
#include <QTest>
#include <QTextDocument>
#include <QToolButton>

#include "AnswerPane.h"
#include "SourcesBar.h"

using studio::AnswerPane;
using studio::AnswerSide;
using studio::RunStats;

namespace {

RunStats finishedRun(qint64 prompt, qint64 generated) {
    RunStats stats;
    stats.promptTokens = prompt;
    stats.prefilledTokens = prompt;
    stats.prefillSeconds = 0.5;
    stats.generatedTokens = generated;
    stats.decodeTokensPerSecond = generated ? 20 : 0;
    return stats;
}

}  // namespace

class TestAnswerPane : public QObject {
    Q_OBJECT

  private slots:
    void anEmptyAnswerSaysSo() {
        AnswerPane pane(AnswerSide::SelfExtend);
        pane.begin("G=4 W=256", 100);
        pane.finish(finishedRun(100, 1));  // the end-of-turn token only
        QVERIFY2(pane.statusText().startsWith("done · no answer"), qPrintable(pane.statusText()));
        QVERIFY2(
            pane.document()->toPlainText().contains("No answer: the model ended its turn at once."),
            qPrintable(pane.document()->toPlainText()));
        QVERIFY(pane.answer().isEmpty());  // nothing to copy or export as the model's words
        QVERIFY2(pane.statusText().contains("at 20.0 tok/s") &&
                     pane.statusText().contains("· 1 token at"),
                 qPrintable(pane.statusText()));
    }

    void anAnswerCutByTheTokenLimitSaysSo() {
        AnswerPane pane(AnswerSide::SelfExtend);
        pane.begin("G=4 W=256", 1);
        pane.appendToken("It is very", 1, 10);
        pane.appendToken(" dark", 2, 10);
        RunStats stats = finishedRun(1, 2);
        stats.cutByTokenLimit = true;
        pane.finish(stats);
        QVERIFY2(pane.statusText().startsWith("cut at the token limit (2 tokens): Continue for "
                                              "more"),
                 qPrintable(pane.statusText()));
        QVERIFY2(pane.statusText().contains("prefill 1 token in"), qPrintable(pane.statusText()));
        QVERIFY(pane.document()->toPlainText().endsWith("It is very dark …"));
        QCOMPARE(pane.answer(), QString("It is very dark"));
        // Continue: offered, and the answer grows in the same turn.
        auto* more = pane.findChild<QToolButton*>("selfExtendContinue");
        QVERIFY(more && !more->isHidden());
        QSignalSpy asked(&pane, &AnswerPane::continueRequested);
        more->click();
        QCOMPARE(asked.count(), 1);
        pane.resume("G=4 W=256 · continued");
        QVERIFY(more->isHidden());
        pane.appendToken(" outside.", 3, 10);
        pane.finish(finishedRun(1, 1));
        QCOMPARE(pane.turns().size(), 1);
        QCOMPARE(pane.turns()[0].answer, QString("It is very dark outside."));
        QVERIFY2(pane.document()->toPlainText().endsWith("It is very dark outside."),
                 qPrintable(pane.document()->toPlainText()));
        // An answer that ended by itself is done.
        AnswerPane ended(AnswerSide::Vanilla);
        ended.begin("vanilla", 10);
        ended.appendToken("Yes.", 1, 10);
        ended.finish(finishedRun(10, 1));
        QVERIFY2(ended.statusText().startsWith("done · prefill 10 tokens in"),
                 qPrintable(ended.statusText()));
    }

    void newConversationClearsTheSources() {
        AnswerPane pane(AnswerSide::SelfExtend);
        pane.show();
        pane.begin("G=4 W=256", 10);
        pane.appendToken("The code is 4821.", 1, 10);
        pane.finish(finishedRun(10, 1));
        const QString text = "Remember this: the door code is 4821. Other text follows here.";
        pane.sourcesBar()->setSources({true, {{0, 37, 0.4}, {38, 24, 0.1}}}, text);
        QVERIFY(pane.sourcesBar()->isVisible());
        QCOMPARE(pane.sourcesBar()->findChildren<QToolButton*>().size(), 2);
        pane.clearConversation();
        QVERIFY(!pane.sourcesBar()->isVisible());
        QVERIFY(pane.sourcesBar()->findChildren<QToolButton*>().isEmpty());
    }
};

QTEST_MAIN(TestAnswerPane)
#include "tst_answer_pane.moc"
