// Issue 12's last parts: answers rendered as Markdown (Copy keeps the source), conversations kept
// with their document and shown again when it is reopened, and the probe that plants invented facts
// in the user's own document to choose G and W. On the bundled demo model (L = 512).
#include <QApplication>
#include <QClipboard>
#include <QFile>
#include <QFrame>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QTextBlock>
#include <QTextDocument>
#include <QTextList>
#include <QToolButton>
#include <memory>

#include "AnswerPane.h"
#include "ComparePane.h"
#include "DocumentPane.h"
#include "MainWindow.h"
#include "ProbePanel.h"
#include "ResourcePaths.h"
#include "SelfExtendPanel.h"
#include "test_paths.h"

using studio::MainWindow;

class TestStudioConversations : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase();
    void init();

    void answersRenderAsMarkdownAndCopyTheSource();
    void conversationComesBackWhenTheDocumentIsReopened();
    void newConversationForgetsTheSavedOne();
    void anotherDocumentStartsANewConversationInBothPanes();
    void aCutAnswerContinuesWhereItStopped();
    void aRestoredConversationIsOfferedWithItsOwnSettings();
    void aCorruptSavedConversationIsIgnored();
    void probeFillsTheTableStopsAndApplies();

  private:
    std::unique_ptr<MainWindow> openWindow(const QString& document);
    bool reopen(MainWindow& window, const QString& document);
    bool askAndWait(MainWindow& window, const QString& question);
    QString writeFile(const QString& name, const QByteArray& bytes);

    QTemporaryDir dir_;
    QString model_;
    QString sample_;
};

void TestStudioConversations::initTestCase() {
    QVERIFY(dir_.isValid());
    // The saved conversations go to the app's data folder: a temporary one here.
    qputenv("XDG_DATA_HOME", dir_.filePath("data").toUtf8());
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, dir_.path());
    QCoreApplication::setOrganizationName("SelfExtendTests");
    QCoreApplication::setApplicationName("tst_studio_conversations");
    model_ = studio::findBundledModel();
    QVERIFY2(!model_.isEmpty(), "the bundled demo model is missing");
    sample_ = QString(SE_SOURCE_DIR) + "/resources/samples/door-code.txt";
}

void TestStudioConversations::init() {
    QSettings().clear();
    QSettings().setValue("documentCache", false);
    QSettings().setValue("saveConversations", true);
    QSettings().setValue("maxNewTokens", 12);
}

QString TestStudioConversations::writeFile(const QString& name, const QByteArray& bytes) {
    const QString path = dir_.filePath(name);
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size()) return {};
    return path;
}

std::unique_ptr<MainWindow> TestStudioConversations::openWindow(const QString& document) {
    auto window = std::make_unique<MainWindow>();
    window->show();
    QSignalSpy modelReady(window.get(), &MainWindow::modelReady);
    window->start({model_, document, std::nullopt, std::nullopt, {}, {}});
    modelReady.wait(30000);
    if (!QTest::qWaitFor([&] { return window->documentPane()->tokenCount() > 0; }, 30000))
        qWarning("the document was not read");
    return window;
}

bool TestStudioConversations::reopen(MainWindow& window, const QString& document) {
    QSignalSpy ready(&window, &MainWindow::documentReady);
    window.openDocument(document);
    return ready.wait(20000) &&
           QTest::qWaitFor([&] { return window.documentPane()->tokenCount() > 0; }, 20000);
}

bool TestStudioConversations::askAndWait(MainWindow& window, const QString& question) {
    window.comparePane()->setQuestion(question);
    QSignalSpy done(&window, &MainWindow::askDone);
    window.ask(MainWindow::FitChoice::RunAnyway);
    return window.isAsking() && done.wait(60000);
}

void TestStudioConversations::answersRenderAsMarkdownAndCopyTheSource() {
    studio::AnswerPane pane(studio::AnswerSide::SelfExtend);
    pane.show();
    pane.markQueued("Which?");
    pane.begin("settings", 10);
    const QString source = "The code is **4721**:\n\n- first door\n- second door\n";
    for (const QString& piece : source.split(' ')) pane.appendToken(piece + ' ', 1, 100);
    studio::RunStats stats;
    stats.promptTokens = stats.prefilledTokens = 10;
    pane.finish(stats);
    QCOMPARE(pane.answer().trimmed(), source.trimmed());

    // Rendered: "4721" in a bold fragment, the two doors as items of one list.
    bool sawBold = false;
    QTextList* list = nullptr;
    int items = 0;
    for (QTextBlock block = pane.document()->begin(); block.isValid(); block = block.next()) {
        for (auto it = block.begin(); !it.atEnd(); ++it) {
            const QTextFragment fragment = it.fragment();
            if (fragment.text().contains("4721")) {
                QCOMPARE(fragment.text(), QString("4721"));  // the asterisks are gone
                sawBold = fragment.charFormat().fontWeight() >= QFont::Bold;
            }
        }
        if (block.textList()) {
            list = block.textList();
            ++items;
        }
    }
    QVERIFY(sawBold);
    QVERIFY(list);
    QCOMPARE(items, 2);
    QCOMPARE(list->count(), 2);
    QVERIFY(!pane.document()->toPlainText().contains("**"));

    // Copy gives the Markdown source, not the rendering.
    QTest::mouseClick(pane.findChild<QToolButton*>("selfExtendCopy"), Qt::LeftButton);
    QCOMPARE(QApplication::clipboard()->text(), source.trimmed());
}

void TestStudioConversations::conversationComesBackWhenTheDocumentIsReopened() {
    auto window = openWindow(sample_);
    auto* vanilla = window->comparePane()->vanillaPane();
    auto* extended = window->comparePane()->selfExtendPane();
    QVERIFY(askAndWait(*window, "What is the door code?"));
    const QString vanillaAnswer = vanilla->answer();
    const QString extendedAnswer = extended->answer();
    const QString extendedSettings = extended->settingsText();
    QVERIFY(QFile::exists(window->savedConversationPath()));
    const qint64 firstPrompt = extended->statusText().size();  // only to check it ran
    QVERIFY(firstPrompt > 0);

    // Another document, then the first again: both columns come back, marked as restored.
    const QString other = writeFile("other.txt", "A short note about nothing in particular.\n");
    QVERIFY(reopen(*window, other));
    QSignalSpy restored(window.get(), &MainWindow::conversationRestored);
    QVERIFY(reopen(*window, sample_));
    QCOMPARE(restored.count(), 1);
    for (auto* pane : {vanilla, extended}) {
        QCOMPARE(pane->turns().size(), 1);
        QCOMPARE(pane->turns()[0].question, QString("What is the door code?"));
        QVERIFY2(pane->statusText().contains("restored"), qPrintable(pane->statusText()));
        QVERIFY(!pane->isStale());
    }
    QCOMPARE(vanilla->turns()[0].answer, vanillaAnswer);
    QCOMPARE(extended->turns()[0].answer, extendedAnswer);
    QVERIFY2(extended->statusText().endsWith(extendedSettings), qPrintable(extended->statusText()));
    QVERIFY(extended->document()->toPlainText().contains("What is the door code?"));

    // In a new window too (the app closed and started again).
    window.reset();
    window = openWindow(sample_);
    extended = window->comparePane()->selfExtendPane();
    QCOMPARE(extended->turns().size(), 1);
    QCOMPARE(extended->turns()[0].answer, extendedAnswer);

    // Offered, not continued silently: the user continues it. A follow-up then holds the
    // restored turn in its prompt: the engine's session is new, so the earlier question and
    // answer are prefilled again.
    QVERIFY(window->comparePane()->restoredOfferShown());
    QTest::mouseClick(window->comparePane()->findChild<QPushButton*>("continueConversationButton"),
                      Qt::LeftButton);
    QVERIFY(!window->comparePane()->restoredOfferShown());
    QVERIFY(askAndWait(*window, "Who wrote the note?"));
    QCOMPARE(extended->turns().size(), 2);
    QVERIFY2(extended->settingsText().contains("follow-up"), qPrintable(extended->settingsText()));
    QVERIFY(extended->document()->toPlainText().contains("What is the door code?"));
}

// Issue 22.3: after a restart the old conversation is shown and offered, never sent unasked; each
// turn keeps (and shows, and exports) the G and W it was answered with, and continuing turns made
// with other settings says so.
void TestStudioConversations::aRestoredConversationIsOfferedWithItsOwnSettings() {
    {
        auto window = openWindow(sample_);
        window->selfExtendPanel()->setGroup(4);
        window->selfExtendPanel()->setWindow(128);
        QVERIFY(askAndWait(*window, "What is the door code?"));
        const auto* extended = window->comparePane()->selfExtendPane();
        QVERIFY2(extended->turns()[0].settings.startsWith("Self-Extend G=4 W=128"),
                 qPrintable(extended->turns()[0].settings));
    }
    // Restarted with other settings: the turn is shown with its own, and offered.
    auto window = openWindow(sample_);
    auto* compare = window->comparePane();
    auto* extended = compare->selfExtendPane();
    QCOMPARE(extended->turns().size(), 1);
    QVERIFY(extended->turns()[0].restored);
    QVERIFY(compare->restoredOfferShown());
    const QString shown = extended->document()->toPlainText();
    QVERIFY2(shown.contains("answered in the last session with Self-Extend G=4 W=128"),
             qPrintable(shown));
    const QString offer =
        compare->findChild<QFrame*>("restoredOffer")->findChild<QLabel*>()->text();
    QVERIFY2(offer.contains("Self-Extend G=4 W=128") && offer.contains("not today's settings"),
             qPrintable(offer));

    // The export labels the turn with its own settings, not today's.
    const QString exported = dir_.filePath("restored.md");
    QVERIFY(window->exportConversation(exported));
    QFile file(exported);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QString markdown = QString::fromUtf8(file.readAll());
    QVERIFY2(markdown.contains("last session: Self-Extend G=4 W=128"), qPrintable(markdown));

    // Asked without continuing (and with other settings): a new conversation, none of the old
    // turns sent.
    window->selfExtendPanel()->setGroup(8);
    window->selfExtendPanel()->setWindow(64);
    QVERIFY(askAndWait(*window, "Who wrote the note?"));
    QVERIFY(!compare->restoredOfferShown());
    QCOMPARE(extended->turns().size(), 1);
    QCOMPARE(extended->turns()[0].question, QString("Who wrote the note?"));
    QVERIFY2(!extended->settingsText().contains("follow-up"), qPrintable(extended->settingsText()));
    QVERIFY2(extended->settingsText().startsWith("Self-Extend G=8 W=64"),
             qPrintable(extended->settingsText()));
    QVERIFY(!extended->document()->toPlainText().contains("What is the door code?"));

    // Continued instead, in a new window: the follow-up says so and holds the old turn.
    window.reset();
    window = openWindow(sample_);
    compare = window->comparePane();
    extended = compare->selfExtendPane();
    QVERIFY(compare->restoredOfferShown());
    QTest::mouseClick(compare->findChild<QPushButton*>("continueConversationButton"),
                      Qt::LeftButton);
    QVERIFY(askAndWait(*window, "Is it written anywhere?"));
    QCOMPARE(extended->turns().size(), 2);
    QVERIFY2(extended->settingsText().contains("follow-up"), qPrintable(extended->settingsText()));
    QVERIFY(extended->turns()[0].restored);
    QVERIFY(!extended->turns()[1].restored);
    QVERIFY(extended->document()->toPlainText().contains(
        "answered in the last session with Self-Extend G=8 W=64"));
}

// Issue 22.4: while one side prefills on a new document, the other pane does not show the last
// document's conversation above the new question.
void TestStudioConversations::anotherDocumentStartsANewConversationInBothPanes() {
    QSettings().setValue("saveConversations", false);
    auto window = openWindow(sample_);
    QVERIFY(askAndWait(*window, "What is the door code?"));
    const QString other = writeFile("note.txt", "The note says the meeting moved to Tuesday.\n");
    QVERIFY(reopen(*window, other));
    window->comparePane()->setQuestion("When is the meeting?");
    QSignalSpy done(window.get(), &MainWindow::askDone);
    window->ask(MainWindow::FitChoice::RunAnyway);
    for (auto* pane :
         {window->comparePane()->vanillaPane(), window->comparePane()->selfExtendPane()})
        QVERIFY2(!pane->document()->toPlainText().contains("door code"),
                 qPrintable(pane->document()->toPlainText()));
    QVERIFY(done.wait(60000));
    // (The note fits the window: Self-Extend is not needed, vanilla answers it.)
    const auto* vanilla = window->comparePane()->vanillaPane();
    QCOMPARE(vanilla->turns().size(), 1);
    QVERIFY2(!vanilla->settingsText().contains("follow-up"), qPrintable(vanilla->settingsText()));
}

// Issue 22.7: an answer the token limit cut offers Continue, which generates more of the same
// answer (one turn, the text grown) without asking again.
void TestStudioConversations::aCutAnswerContinuesWhereItStopped() {
    QSettings().setValue("maxNewTokens", 3);
    auto window = openWindow(sample_);
    window->comparePane()->setStopAtLineBreak(false);
    window->comparePane()->vanillaPane()->setEnabledForRuns(false);
    QVERIFY(askAndWait(*window, "What is the door code?"));
    auto* extended = window->comparePane()->selfExtendPane();
    QVERIFY2(extended->statusText().startsWith("cut at the token limit"),
             qPrintable(extended->statusText()));
    const QString first = extended->turns().constLast().answer;
    auto* more = extended->findChild<QToolButton*>("selfExtendContinue");
    QVERIFY(more && more->isVisible());
    QSignalSpy done(window.get(), &MainWindow::askDone);
    QTest::mouseClick(more, Qt::LeftButton);
    QVERIFY(window->isAsking());
    QVERIFY(done.wait(60000));
    QCOMPARE(extended->turns().size(), 1);
    const QString grown = extended->turns().constLast().answer;
    QVERIFY2(grown.startsWith(first) && grown.size() > first.size(),
             qPrintable(first + " | " + grown));
    QVERIFY2(extended->settingsText().endsWith("continued"), qPrintable(extended->settingsText()));
    QVERIFY2(extended->document()->toPlainText().contains(grown.trimmed()),
             qPrintable(extended->document()->toPlainText()));
}

void TestStudioConversations::newConversationForgetsTheSavedOne() {
    auto window = openWindow(sample_);
    QVERIFY(askAndWait(*window, "What is the door code?"));
    const QString saved = window->savedConversationPath();
    QVERIFY(QFile::exists(saved));
    QTest::mouseClick(window->comparePane()->findChild<QPushButton*>("newConversationButton"),
                      Qt::LeftButton);
    QVERIFY(!QFile::exists(saved));
    window.reset();
    window = openWindow(sample_);
    QCOMPARE(window->comparePane()->selfExtendPane()->turns().size(), 0);
    QCOMPARE(window->comparePane()->vanillaPane()->turns().size(), 0);
}

void TestStudioConversations::aCorruptSavedConversationIsIgnored() {
    QString saved;
    {
        auto window = openWindow(sample_);
        QVERIFY(askAndWait(*window, "What is the door code?"));
        saved = window->savedConversationPath();
    }
    for (const QByteArray& garbage :
         {QByteArray("{\"version\": 1, \"sides\": {\"vanilla\": {\"turns\": [3]}}}"),
          QByteArray("\x00\x01 not json at all", 18)}) {
        QFile file(saved);
        QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
        file.write(garbage);
        file.close();
        auto window = openWindow(sample_);
        QCOMPARE(window->comparePane()->selfExtendPane()->turns().size(), 0);
        QCOMPARE(window->comparePane()->vanillaPane()->turns().size(), 0);
        const QString message = window->statusBar()->currentMessage();
        QVERIFY2(message.contains("could not be read") && message.contains("ignored"),
                 qPrintable(message));
        // The next question works and replaces the damaged file.
        QVERIFY(askAndWait(*window, "What is the door code?"));
        QCOMPARE(window->comparePane()->selfExtendPane()->turns().size(), 1);
    }
}

void TestStudioConversations::probeFillsTheTableStopsAndApplies() {
    SKIP_WITHOUT_SHARED();
    QFile book(testing::shared_path("corpus/books/black_beauty.txt"));
    QVERIFY(book.open(QIODevice::ReadOnly));
    // About 900 tokens: past the demo model's 512-token window.
    const QString path =
        writeFile("excerpt.txt", QString::fromUtf8(book.readAll()).mid(20000, 3600).toUtf8());
    auto window = openWindow(path);
    auto* probe = window->probePanel();
    auto* panel = window->selfExtendPanel();
    auto* run = probe->findChild<QPushButton*>("probeButton");
    auto* stop = probe->findChild<QPushButton*>("probeStop");
    auto* apply = probe->findChild<QPushButton*>("probeApply");
    auto* table = probe->findChild<QTableWidget*>("probeTable");
    window->findChild<QTabWidget*>()->setCurrentWidget(probe);
    QVERIFY(run->isEnabled());
    QVERIFY(!apply->isEnabled());

    // Stopped at once: no table, the button back.
    QSignalSpy done(window.get(), &MainWindow::probeDone);
    QTest::mouseClick(run, Qt::LeftButton);
    QVERIFY(stop->isEnabled());
    QTest::mouseClick(stop, Qt::LeftButton);
    QVERIFY(done.wait(30000));
    QVERIFY2(probe->findChild<QLabel*>("probeStatus")->text().contains("stopped"),
             qPrintable(probe->findChild<QLabel*>("probeStatus")->text()));
    QVERIFY(!probe->recommended());
    QVERIFY(run->isEnabled() && !stop->isEnabled() && !apply->isEnabled());

    // What it costs is said before it runs: two readings of the document.
    const QString cost = probe->findChild<QLabel*>("probeCost")->text();
    QVERIFY2(cost.contains("2 times") && cost.contains("tokens each"), qPrintable(cost));

    // A whole run: one row per candidate (Auto's first), a cell per depth, found counts.
    QTest::mouseClick(run, Qt::LeftButton);
    QVERIFY(done.wait(120000));
    const int depths = int(selfextend::ProbeOptions{}.depths.size());
    QCOMPARE(depths, 5);
    QCOMPARE(table->rowCount(), 2);
    QCOMPARE(table->columnCount(), depths + 1);
    QVERIFY2(table->verticalHeaderItem(0)->text().contains("(Auto)"),
             qPrintable(table->verticalHeaderItem(0)->text()));
    int bestFound = 0;
    for (int row = 0; row < table->rowCount(); ++row) {
        for (int column = 0; column < depths; ++column) {
            QVERIFY(table->item(row, column));
            QVERIFY(table->item(row, column)->text().startsWith("✓") ||
                    table->item(row, column)->text().startsWith("✗"));
        }
        bestFound = std::max(bestFound, table->item(row, depths)->text().left(1).toInt());
        qInfo("%s: %s", qPrintable(table->verticalHeaderItem(row)->text()),
              qPrintable(table->item(row, 3)->text()));
    }
    QVERIFY(probe->recommended());
    // The demo model states none of the invented facts (it retrieves one pass key): the panel
    // says that no setting can be told apart and keeps Auto's.
    QVERIFY2(bestFound == 0
                 ? probe->recommendationText().contains("No setting stated")
                 : probe->recommendationText().contains(QString(" of %1 facts").arg(depths)),
             qPrintable(probe->recommendationText()));
    if (bestFound == 0)  // Auto's, the first row
        QVERIFY2(
            table->verticalHeaderItem(0)->text().startsWith(QString("G=%1 W=%2")
                                                                .arg(probe->recommended()->group)
                                                                .arg(probe->recommended()->window)),
            qPrintable(table->verticalHeaderItem(0)->text()));
    QVERIFY(!probe->recommended()->is_vanilla());  // ~900 tokens do not fit L = 512

    // Apply: the sliders take the recommendation, pinned.
    QVERIFY(apply->isEnabled());
    QTest::mouseClick(apply, Qt::LeftButton);
    QCOMPARE(panel->group(), probe->recommended()->group);
    QCOMPARE(panel->window(), probe->recommended()->window);
    QVERIFY(panel->groupPinned() && panel->windowPinned());
}

QTEST_MAIN(TestStudioConversations)
#include "tst_studio_conversations.moc"
