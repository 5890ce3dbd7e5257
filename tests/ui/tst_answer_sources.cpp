// "Where the answer came from" (issue 12) in the studio; the engine's part is tst_source_passages.
// The ranked passages as QString offsets, and the studio on a needle document: each answer's top
// passages highlighted in its side's colour, "Sources: 1 2 …" buttons that jump to them, and the
// planted sentence among Self-Extend's top passages.
#include <QApplication>
#include <QFile>
#include <QLabel>
#include <QPlainTextEdit>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QToolButton>
#include <memory>

#include "AnswerPane.h"
#include "AnswerSources.h"
#include "ComparePane.h"
#include "DocumentPane.h"
#include "MainWindow.h"
#include "ResourcePaths.h"
#include "SourcesBar.h"
#include "selfextend/chat.h"
#include "selfextend/engine.h"
#include "test_paths.h"

using selfextend::ByteRange;
using studio::AnswerSide;
using studio::MainWindow;

namespace {

constexpr char kNeedle[] = "Remember this: the door code is 4821.";

// About 3 600 characters of a book (roughly 1 000 demo-model tokens, twice its window) with the
// needle planted at `depth` of it, between two sentences.
QByteArray needleDocument(double depth) {
    QFile file(testing::shared_path("corpus/books/pg105_persuasion.txt"));
    if (!file.open(QIODevice::ReadOnly)) return {};
    QByteArray text = file.readAll().mid(20000, 3600).simplified();
    qsizetype at = text.indexOf(". ", qsizetype(double(text.size()) * depth));
    if (at < 0) return {};
    at += 2;
    return text.left(at) + kNeedle + " " + text.mid(at);
}

}  // namespace

class TestAnswerSources : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase() {
        QVERIFY(dir_.isValid());
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, dir_.path());
        QCoreApplication::setOrganizationName("SelfExtendTests");
        QCoreApplication::setApplicationName("tst_answer_sources");
        QSettings().clear();
        QSettings().setValue("documentCache", false);
        QSettings().setValue("saveConversations", false);
    }

    // The engine's ranked passages as offsets in the document's QString (UTF-16 code units).
    void passagesAreRankedBySummedMass() {
        // Passages [0, 12) "Été chaud.", [13, 29) "Le vent souffle.", [30, 35) "Rien." (É and é
        // take two bytes, one UTF-16 unit). Tokens: one before the document, "Été", " chaud.",
        // " Le", " vent souffle.", " Rien.", one after it.
        const std::string text = "Été chaud. Le vent souffle. Rien.";
        const std::vector<ByteRange> ranges = {{0, 0},   {0, 5},   {5, 12}, {12, 15},
                                               {15, 29}, {29, 35}, {35, 35}};
        const std::vector<float> mass = {5.0f, 0.0625f, 0.0625f, 0.25f, 0.375f, 0.25f, 9.0f};
        // Without an answer, by attention alone.
        const studio::AnswerSources sources =
            studio::studioSources(text, selfextend::rank_passages(text, ranges, mass, 2, {}));
        QVERIFY(sources.available);
        QCOMPARE(sources.passages.size(), 2);
        const QString qtext = QString::fromStdString(text);
        QCOMPARE(qtext.mid(sources.passages[0].start, sources.passages[0].length),
                 QString("Le vent souffle."));
        QCOMPARE(qtext.mid(sources.passages[1].start, sources.passages[1].length),
                 QString("Rien."));
        QCOMPARE(sources.passages[0].share, 0.625);  // of 1.0 on the document, exact in floats
        QCOMPARE(sources.passages[1].share, 0.25);
    }

    // A device that does not report attention (the CUDA backend) says so under the answer.
    void unavailableSourcesAreSaid() {
        studio::SourcesBar bar(AnswerSide::SelfExtend);
        studio::AnswerSources sources;
        sources.available = false;
        bar.setSources(sources, {});
        QVERIFY(!bar.isHidden());
        QCOMPARE(bar.count(), 0);
        QCOMPARE(bar.text(), QString("Sources: not available on this device"));
        bar.clear();
        QVERIFY(bar.isHidden());
    }

    void needleIsAmongSelfExtendsSources() {
        SKIP_WITHOUT_SHARED();
        const QByteArray document = needleDocument(0.4);
        QVERIFY(!document.isEmpty());
        const QString path = dir_.filePath("needle.txt");
        {
            QFile file(path);
            QVERIFY(file.open(QIODevice::WriteOnly));
            file.write(document);
        }
        auto window = std::make_unique<MainWindow>();
        window->show();
        QSignalSpy modelReady(window.get(), &MainWindow::modelReady);
        window->start({studio::findBundledModel(), path, std::nullopt, std::nullopt, {}, {}});
        QVERIFY(modelReady.wait(30000));
        QVERIFY(QTest::qWaitFor([&] { return window->documentPane()->tokenCount() > 0; }, 30000));
        qInfo("document: %lld tokens",
              static_cast<long long>(window->documentPane()->tokenCount()));
        window->comparePane()->setQuestion("What is the door code?");
        window->comparePane()->setMaxNewTokens(16);
        QSignalSpy done(window.get(), &MainWindow::askDone);
        window->ask(MainWindow::FitChoice::FitNow);
        QVERIFY(window->isAsking() && done.wait(120000));

        studio::DocumentPane* pane = window->documentPane();
        const QString text = pane->text();
        int rank[2] = {-1, -1};
        for (const AnswerSide side : {AnswerSide::Vanilla, AnswerSide::SelfExtend}) {
            const auto& sources = pane->sources(side);
            QVERIFY(sources.size() <= 5);
            for (qsizetype k = 0; k < sources.size(); ++k) {
                const QString passage = text.mid(sources[k].start, sources[k].length);
                qInfo("%s %lld: %.3f %s", side == AnswerSide::Vanilla ? "vanilla" : "Self-Extend",
                      static_cast<long long>(k + 1), sources[k].share,
                      qPrintable(passage.left(70)));
                if (passage.contains("door code is 4821") && rank[int(side)] < 0)
                    rank[int(side)] = int(k + 1);
            }
        }
        const QString answer = window->comparePane()->selfExtendPane()->answer().trimmed();
        qInfo("needle rank: vanilla %d, Self-Extend %d (-1: not among the sources)", rank[0],
              rank[1]);
        qInfo("answers: vanilla '%s', Self-Extend '%s'",
              qPrintable(window->comparePane()->vanillaPane()->answer().trimmed()),
              qPrintable(answer));
        // The answer states the code: the sentence that holds it is source 1.
        QVERIFY2(answer.contains("4821"), qPrintable(answer));
        QCOMPARE(rank[int(AnswerSide::SelfExtend)], 1);

        // The legend names both sides; the answer's buttons jump to each passage.
        auto* legend = pane->findChild<QLabel*>("sourcesLegend");
        QVERIFY(legend && legend->isVisible());
        QVERIFY(legend->text().contains("Self-Extend") && legend->text().contains("vanilla"));
        studio::SourcesBar* bar = window->comparePane()->selfExtendPane()->sourcesBar();
        QVERIFY(bar->isVisible());
        const int shown = int(pane->sources(AnswerSide::SelfExtend).size());
        QCOMPARE(bar->count(), shown);
        QVERIFY2(bar->text().startsWith("Sources: 1"), qPrintable(bar->text()));
        const int needle = rank[int(AnswerSide::SelfExtend)];
        auto* button =
            bar->findChild<QToolButton*>(QStringLiteral("selfExtendSources%1").arg(needle));
        QVERIFY(button);
        QVERIFY(button->toolTip().contains("door code"));
        // The percentage says what it is.
        QVERIFY2(button->toolTip().contains("% of the answer's attention on the document"),
                 qPrintable(button->toolTip()));
        QTest::mouseClick(button, Qt::LeftButton);
        QVERIFY2(pane->shownSource().contains("door code is 4821"),
                 qPrintable(pane->shownSource()));
        // Shown without a text selection, which would paint over the passage's colour; the
        // view's cursor sits at its start.
        auto* view = pane->findChild<QPlainTextEdit*>();
        QVERIFY(view && !view->textCursor().hasSelection());
        QVERIFY(
            view->toPlainText().mid(view->textCursor().position()).startsWith(pane->shownSource()));

        // A new document drops the highlights.
        window->openDocument(QString(SE_SOURCE_DIR) + "/resources/samples/door-code.txt");
        QVERIFY(QTest::qWaitFor([&] { return pane->sources(AnswerSide::SelfExtend).isEmpty(); },
                                30000));
        QVERIFY(!legend->isVisible());
    }

  private:
    QTemporaryDir dir_;
};

QTEST_MAIN(TestAnswerSources)
#include "tst_answer_sources.moc"
