// The studio as a new user meets it (issue 12): G and W that fit by default, a question before a
// run that cannot fit, stale answers marked, Ask only with a document, focus that stays put,
// errors shown once and cleared, the Evaluate tab's chart and checks, the command line's errors,
// a layout that fits a small screen, and a stop that keeps the prefill's numbers. Each test uses
// a fresh window on the bundled demo model (L = 512) and the bundled sample; none needs ../shared.
#include <QAbstractScrollArea>
#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLineSeries>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QScrollArea>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardItemModel>
#include <QStatusBar>
#include <QTabBar>
#include <QTabWidget>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QTextBrowser>
#include <QTextDocument>
#include <QTextEdit>
#include <QToolBar>
#include <QToolButton>
#include <QToolTip>
#include <memory>

#include "AnswerPane.h"
#include "ComparePane.h"
#include "DeviceChoice.h"
#include "DocumentFilter.h"
#include "DocumentPane.h"
#include "EvaluateTab.h"
#include "Format.h"
#include "MainWindow.h"
#include "ModelPanel.h"
#include "ModelPicker.h"
#include "OpenedFiles.h"
#include "PositionPlot.h"
#include "ResourcePaths.h"
#include "SelfExtendPanel.h"
#include "SettingsDialog.h"
#include "StudioController.h"
#include "selfextend/attention_mode.h"
#include "test_paths.h"

using studio::MainWindow;

namespace {

QString samplePath() {
    return QString(SE_SOURCE_DIR) + "/resources/samples/door-code.txt";
}

QByteArray sampleText() {
    QFile file(samplePath());
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

// Visible widgets that got less room than they need: narrower or lower than their minimum size
// hint (the whole text for a label that does not wrap), lower than their text at that width
// (a wrapping label), or reaching outside their parent. Scrolled content is not clipped.
QStringList clippedWidgets(QWidget* root) {
    QStringList clipped;
    for (QWidget* widget : root->findChildren<QWidget*>()) {
        if (!widget->isVisible() || widget->window() != root) continue;
        // Scrolled, in a bar that folds what does not fit into a menu, or the inside of a
        // spin or combo box (sized by the style, not by a layout): not clipping.
        bool scrolled = false;
        for (QWidget* up = widget->parentWidget(); up && up != root; up = up->parentWidget())
            if (qobject_cast<QScrollArea*>(up) || qobject_cast<QToolBar*>(up) ||
                qobject_cast<QTabBar*>(up) || qobject_cast<QAbstractSpinBox*>(up) ||
                qobject_cast<QComboBox*>(up))
                scrolled = true;
        if (scrolled) continue;
        const bool checked = qobject_cast<QLabel*>(widget) ||
                             qobject_cast<QAbstractButton*>(widget) ||
                             qobject_cast<QAbstractSpinBox*>(widget) ||
                             qobject_cast<QComboBox*>(widget) || qobject_cast<QLineEdit*>(widget);
        if (!checked) continue;
        const QString name = QStringLiteral("%1 '%2' (%3x%4)")
                                 .arg(widget->metaObject()->className(), widget->objectName())
                                 .arg(widget->width())
                                 .arg(widget->height());
        const auto* label = qobject_cast<QLabel*>(widget);
        if (label && label->wordWrap() && !label->text().isEmpty()) {
            if (widget->height() < label->heightForWidth(widget->width()) - 1)
                clipped << name + " wraps taller";
        } else {
            const QSize hint = widget->minimumSizeHint();
            if (widget->width() < hint.width() - 1 || widget->height() < hint.height() - 1)
                clipped << name +
                               QStringLiteral(" needs %1x%2").arg(hint.width()).arg(hint.height());
        }
        if (QWidget* parent = widget->parentWidget();
            parent && !parent->rect().adjusted(-1, -1, 1, 1).contains(widget->geometry()))
            clipped << name + " outside its parent";
    }
    return clipped;
}

}  // namespace

class TestStudioUsability : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase();
    void init();

    // 1 and 6: G and W that fit, chosen in one place and explained.
    void openingTheSampleChoosesGAndWThatFit();
    void firstStartOffersTheSample();
    void pinnedSettingsSurviveANewDocument();
    void commandLinePinsButSavedSettingsDoNot();
    void loadingAModelRefitsTheOpenDocument();
    void askOnADocumentThatDoesNotFitAsksFirst();
    void aDocumentThatCannotFitSaysSoBeforeStarting();
    // 3: stale answers, no Ask without a document.
    void staleAnswersAreMarked();
    void askNeedsADocument();
    // 4: focus.
    void askKeepsFocusOffMaxNewTokens();
    // 5: errors once, cleared when resolved.
    void errorsShowOnceAndClearWhenResolved();
    // 7: Evaluate.
    void evaluateReportsBadLengthsAndWarnsPastCapacity();
    void perplexityChartHasTicksTooltipsAndSurvivesAStop();
    void evaluationErrorResetsTheProgressBar();
    void passkeyTableColumnsAreNotCutOff();
    void evaluateStacksTheTestsInASmallWindow();
    void evaluateLengthsFollowTheModelAndTheChartItsDocument();
    // 9: the command line.
    void badModelAndBadDocumentBothShow();
    // Issue 8: the prompt format is the file's unless the user picks another that the
    // vocabulary can express.
    void promptFormatTheVocabularyLacksIsRefused();
    // Issue 12: the model picker says before loading what runs here and why not.
    void modelPickerChecksEachFileBeforeLoading();
    void settingsAreSavedAndReachTheNextQuestion();
    // Issue 22, item 1: a device that fails is never saved and never leaves the app without a
    // model.
    void gpuChoiceSaysWhyItIsUnavailable();
    void aSavedGpuThatIsMissingFallsBackToTheCpu();
    void aGpuThatFailsToLoadFallsBackAndIsNotSaved();
    // Issue 22, item 8: a document that fits runs once.
    void aDocumentThatFitsRunsOnce();
    // Issue 22, item 12: a Latin-1 file reads right and says how it was read.
    void aLatin1DocumentIsDetected();
    // Issue 22, item 17: models and documents told apart by content, nothing dropped silently.
    void filesAreToldApartByContent();
    void aModelOpenedAsADocumentIsOfferedAsTheModel();
    // Issue 22, item 18: Help says the version and the keys; the sample link fills in its
    // question; Copy says it copied.
    void helpSaysVersionAndShortcuts();
    void sampleLinkFillsInItsQuestionAndCopySaysSo();
    // Issue 22, item 10: a new model re-fits hand-set G and W unless they are locked.
    void aNewModelRefitsHandSetValuesUnlessLocked();
    // Issue 21, item 4: the document types named in one place.
    void documentTypesComeFromOneList();
    // Issues 10 and 12: conversations on a document.
    void followUpsKeepTheDocumentAndNewConversationForgets();
    void documentCacheAnswersInANewWindowWithoutAPrefill();
    void promptFormatOverrideChangesThePrompt();
    void windowPastTheModelsLIsNotClampedSilently();
    // 10: layout.
    void defaultWindowFitsASmallScreen();
    void answerPanesHaveEqualWidth();
    void plotTitleClearsTheLLine();
    void positionAxisLabelIsWhole();
    void chatModelsGetARepeatPenaltyByDefault();
    // 11: numbers after a stop, repaints.
    void stopKeepsThePrefillNumbers();
    void tokensAreAppendedInBatches();

  private:
    std::unique_ptr<MainWindow> openWindow(const studio::StartupOptions& options);
    bool waitForDocument(MainWindow& window);
    QString writeFile(const QString& name, const QByteArray& bytes);
    bool askAndWait(MainWindow& window,
                    MainWindow::FitChoice choice = MainWindow::FitChoice::AskFirst);

    QTemporaryDir dir_;
    QString model_;
};

void TestStudioUsability::initTestCase() {
    QVERIFY(dir_.isValid());
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, dir_.path());
    QCoreApplication::setOrganizationName("SelfExtendTests");
    QCoreApplication::setApplicationName("tst_studio_usability");
    model_ = studio::findBundledModel();
    QVERIFY2(!model_.isEmpty(), "the bundled demo model is missing");
    QVERIFY(!sampleText().isEmpty());
}

void TestStudioUsability::init() {
    QSettings().clear();  // each window starts as on a first run unless a test says otherwise
    // A document's KV read back from disk would make prefill numbers depend on earlier tests.
    QSettings().setValue("documentCache", false);
    // A conversation saved by one test would come back in the next one's window.
    QSettings().setValue("saveConversations", false);
}

namespace {

// The tokens a finished run computed ("prefill 1 234 tokens in …"): -1 when the status has none.
qint64 computedPrefillTokens(const QString& status) {
    static const QRegularExpression prefill(QStringLiteral("prefill ([^a-z]+) tokens in"));
    const auto match = prefill.match(status);
    if (!match.hasMatch()) return -1;
    QString digits = match.captured(1);
    digits.remove(QRegularExpression(QStringLiteral("\\D")));
    return digits.toLongLong();
}

}  // namespace

QString TestStudioUsability::writeFile(const QString& name, const QByteArray& bytes) {
    const QString path = dir_.filePath(name);
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size()) return {};
    return path;
}

// A first start has no document: the empty pane offers the sample, which opens with one click,
// and the offer goes once a document is open.
void TestStudioUsability::firstStartOffersTheSample() {
    auto window = openWindow({model_, QString(), std::nullopt, std::nullopt, {}, {}});
    auto* link = window->documentPane()->findChild<QLabel*>("sampleLink");
    QVERIFY(link);
    QVERIFY(link->isVisible());
    QVERIFY(link->text().contains("href"));
    emit link->linkActivated("sample");
    QVERIFY(waitForDocument(*window));
    QCOMPARE(QFileInfo(window->documentPane()->path()).fileName(), QString("door-code.txt"));
    QVERIFY(!link->isVisible());
}

std::unique_ptr<MainWindow> TestStudioUsability::openWindow(const studio::StartupOptions& options) {
    auto window = std::make_unique<MainWindow>();
    window->show();
    QSignalSpy modelReady(window.get(), &MainWindow::modelReady);
    window->start(options);
    if (!options.modelPath.isEmpty()) modelReady.wait(30000);
    if (!options.documentPath.isEmpty()) waitForDocument(*window);
    return window;
}

bool TestStudioUsability::waitForDocument(MainWindow& window) {
    return QTest::qWaitFor([&] { return window.documentPane()->tokenCount() > 0; }, 30000);
}

bool TestStudioUsability::askAndWait(MainWindow& window, MainWindow::FitChoice choice) {
    QSignalSpy done(&window, &MainWindow::askDone);
    window.ask(choice);
    return window.isAsking() && done.wait(60000);
}

void TestStudioUsability::openingTheSampleChoosesGAndWThatFit() {
    // The first defect: G stayed 4 (capacity 1 280) for the ~1 600 tokens the sample
    // needs, "Does not fit", and Self-Extend answered wrongly.
    auto window = openWindow({model_, samplePath(), std::nullopt, std::nullopt, {}, {}});
    QVERIFY(window->hasModel());
    auto* panel = window->selfExtendPanel();
    QVERIFY(panel->requiredTokens() > 1280);
    QVERIFY2(panel->fits(), qPrintable(panel->fitText()));
    const selfextend::AutoChoice expected =
        selfextend::choose_attention({512}, panel->requiredTokens());
    QCOMPARE(panel->group(), expected.group);
    QCOMPARE(panel->window(), expected.window);
    QVERIFY2(panel->autoText().startsWith("Auto: W = "), qPrintable(panel->autoText()));
    QVERIFY(!panel->groupPinned() && !panel->windowPinned());
    // The panel says which verdict matters.
    QVERIFY2(panel->fitText().contains("hard limit"), qPrintable(panel->fitText()));
    QVERIFY2(panel->ruleText().contains("Quality hint"), qPrintable(panel->ruleText()));
}

void TestStudioUsability::pinnedSettingsSurviveANewDocument() {
    auto window = openWindow({model_, samplePath(), std::nullopt, std::nullopt, {}, {}});
    auto* panel = window->selfExtendPanel();
    const int fitted = panel->group();
    // The user types a G: that pins it.
    auto* groupSpin = panel->findChild<QSpinBox*>("groupSpin");
    groupSpin->setFocus();
    groupSpin->selectAll();
    QTest::keyClicks(groupSpin, "3");
    QTest::keyClick(groupSpin, Qt::Key_Enter);
    QCOMPARE(panel->group(), 3);
    QVERIFY(panel->groupPinned());
    QVERIFY2(panel->autoText().contains("set by you"), qPrintable(panel->autoText()));

    QSignalSpy ready(window.get(), &MainWindow::documentReady);
    window->openDocument(writeFile("again.txt", sampleText() + "\nOne more line."));
    QVERIFY(ready.wait(20000));
    QVERIFY(waitForDocument(*window));
    QCOMPARE(panel->group(), 3);  // kept
    QVERIFY(!panel->fits());

    // Auto unpins and chooses again.
    QTest::mouseClick(panel->findChild<QPushButton*>("autoButton"), Qt::LeftButton);
    QVERIFY(!panel->groupPinned());
    QVERIFY(panel->fits());
    QVERIFY(panel->group() >= fitted);
}

void TestStudioUsability::commandLinePinsButSavedSettingsDoNot() {
    {
        auto window = openWindow({model_, samplePath(), 3, 128, {}, {}});
        QCOMPARE(window->selfExtendPanel()->group(), 3);
        QCOMPARE(window->selfExtendPanel()->window(), 128);
        window->close();  // saves G = 3, W = 128
    }
    QCOMPARE(QSettings().value("group").toInt(), 3);
    // Saved settings are where the controls start, not a pin: the document decides.
    auto window = openWindow({model_, samplePath(), std::nullopt, std::nullopt, {}, {}});
    QVERIFY(window->selfExtendPanel()->fits());
    QVERIFY(window->selfExtendPanel()->group() != 3);
}

void TestStudioUsability::loadingAModelRefitsTheOpenDocument() {
    auto window = openWindow({model_, samplePath(), std::nullopt, std::nullopt, {}, {}});
    auto* panel = window->selfExtendPanel();
    panel->setGroup(2);  // not a user's touch (as a restored setting would be)
    QVERIFY(!panel->fits());
    QSignalSpy modelReady(window.get(), &MainWindow::modelReady);
    window->openModel(model_);
    QVERIFY(modelReady.wait(30000));
    QTRY_VERIFY_WITH_TIMEOUT(panel->fits(), 20000);
}

void TestStudioUsability::askOnADocumentThatDoesNotFitAsksFirst() {
    auto window = openWindow({model_, samplePath(), std::nullopt, std::nullopt, {}, {}});
    auto* panel = window->selfExtendPanel();
    window->comparePane()->setQuestion("What is the door code?");
    window->comparePane()->setMaxNewTokens(4);
    window->comparePane()->vanillaPane()->setEnabledForRuns(false);
    auto* groupSpin = panel->findChild<QSpinBox*>("groupSpin");

    // Fit now.
    groupSpin->setValue(2);  // as a user would: pinned, capacity 768
    QVERIFY(!panel->fits());
    window->ask();
    QVERIFY(!window->isAsking());
    auto* box = window->findChild<QMessageBox*>("fitBox");
    QVERIFY(box && box->isVisible() && !box->isModal());
    QVERIFY2(box->text().contains("does not fit"), qPrintable(box->text()));
    window->ask();  // asking again while the question is open: the same box, one set of choices
    QCOMPARE(window->findChildren<QMessageBox*>("fitBox").size(), 1);
    QCOMPARE(box->findChildren<QPushButton*>("fitNowButton").size(), 1);
    QSignalSpy done(window.get(), &MainWindow::askDone);
    box->findChild<QPushButton*>("fitNowButton")->click();
    QVERIFY(window->isAsking());
    QVERIFY(panel->fits());
    QVERIFY(done.wait(60000));
    QVERIFY2(window->comparePane()->selfExtendPane()->statusText().contains(
                 QRegularExpression("^(done|cut at the token limit) ")),
             qPrintable(window->comparePane()->selfExtendPane()->statusText()));

    // Truncate: Self-Extend runs on the prompt's tail, within the capacity.
    groupSpin->setValue(2);
    window->ask();
    QTRY_VERIFY(window->findChild<QMessageBox*>("fitBox"));
    window->findChild<QMessageBox*>("fitBox")->findChild<QPushButton*>("truncateButton")->click();
    QVERIFY(window->isAsking());
    QVERIFY(done.wait(60000));
    const auto* settings = window->findChild<QLabel*>("selfExtendSettings");
    QVERIFY2(settings->text().contains("G=2") && settings->text().contains("truncated"),
             qPrintable(settings->text()));
    QCOMPARE(panel->group(), 2);

    // Run anyway.
    window->ask();
    QTRY_VERIFY(window->findChild<QMessageBox*>("fitBox"));
    window->findChild<QMessageBox*>("fitBox")->findChild<QPushButton*>("runAnywayButton")->click();
    QVERIFY(window->isAsking());
    QVERIFY(done.wait(60000));
    QVERIFY2(!settings->text().contains("truncated"), qPrintable(settings->text()));
}

void TestStudioUsability::aDocumentThatCannotFitSaysSoBeforeStarting() {
    // About 33 000 tokens: more than (512 − 32)·64 + 32 = 30 752, the most Auto's G <= 64 holds
    // (at W = L/16).
    const QString book = writeFile("long.txt", sampleText().repeated(22));
    auto window = openWindow({model_, book, std::nullopt, std::nullopt, {}, {}});
    auto* panel = window->selfExtendPanel();
    QVERIFY(panel->requiredTokens() > 30752);
    QVERIFY(!panel->fits());
    // Said once in the panel: Auto's line says what it would take, the verdict points to it.
    QVERIFY2(panel->autoText().contains("Cannot fit") &&
                 panel->autoText().contains("training window of at least"),
             qPrintable(panel->autoText()));
    QVERIFY2(panel->fitText().contains("Does not fit") && !panel->fitText().contains("Cannot fit"),
             qPrintable(panel->fitText()));
    window->comparePane()->setQuestion("What is the door code?");
    window->ask();
    QVERIFY(!window->isAsking());
    auto* box = window->findChild<QMessageBox*>("fitBox");
    QVERIFY(box && box->isVisible());
    QVERIFY2(box->text().contains("cannot fit") && box->text().contains("It would take"),
             qPrintable(box->text()));
    QVERIFY(!box->findChild<QPushButton*>("fitNowButton"));
    QVERIFY(box->findChild<QPushButton*>("truncateButton"));
    box->close();
    QVERIFY(!window->isAsking());
}

void TestStudioUsability::staleAnswersAreMarked() {
    auto window = openWindow({model_, samplePath(), std::nullopt, std::nullopt, {}, {}});
    window->comparePane()->setQuestion("What is the door code?");
    window->comparePane()->setMaxNewTokens(4);
    QVERIFY(askAndWait(*window));
    auto* vanilla = window->comparePane()->vanillaPane();
    auto* extended = window->comparePane()->selfExtendPane();
    QVERIFY(!vanilla->isStale() && !extended->isStale());

    auto* panel = window->selfExtendPanel();
    const int group = panel->group();
    panel->setGroup(group + 1);
    QVERIFY(extended->isStale());
    QVERIFY2(extended->staleText().contains(QString("G=%1").arg(group)),
             qPrintable(extended->staleText()));
    QVERIFY(!vanilla->isStale());  // vanilla does not use G
    panel->setGroup(group);
    QVERIFY(!extended->isStale());

    QSignalSpy ready(window.get(), &MainWindow::documentReady);
    window->openDocument(writeFile("other.txt", "A short note about nothing in particular."));
    QVERIFY(ready.wait(20000));
    QVERIFY(vanilla->isStale() && extended->isStale());
    QVERIFY2(vanilla->staleText().contains("door-code.txt"), qPrintable(vanilla->staleText()));
    QVERIFY(!vanilla->answer().isEmpty());  // marked, still readable
}

void TestStudioUsability::askNeedsADocument() {
    auto window = openWindow({model_, {}, std::nullopt, std::nullopt, {}, {}});
    QVERIFY(window->hasModel());
    auto* action = window->findChild<QAction*>("askAction");
    auto* button = window->findChild<QPushButton*>("askButton");
    QVERIFY(action && button);
    QVERIFY(!action->isEnabled());
    QVERIFY(!button->isEnabled());
    QVERIFY2(button->toolTip().contains("Open a document"), qPrintable(button->toolTip()));
    QVERIFY2(action->toolTip().contains("Open a document"), qPrintable(action->toolTip()));
    window->comparePane()->setQuestion("What is the door code?");
    QTest::keyClick(window->findChild<QLineEdit*>("questionEdit"), Qt::Key_Return);
    QVERIFY(!window->isAsking());

    QSignalSpy ready(window.get(), &MainWindow::documentReady);
    window->openDocument(samplePath());
    QVERIFY(ready.wait(20000));
    QVERIFY(waitForDocument(*window));
    QVERIFY(action->isEnabled() && button->isEnabled());
    QVERIFY(!window->bannerText().contains("Open a document"));
}

void TestStudioUsability::askKeepsFocusOffMaxNewTokens() {
    auto window = openWindow({model_, samplePath(), std::nullopt, std::nullopt, {}, {}});
    window->comparePane()->setQuestion("What is the door code?");
    window->comparePane()->setMaxNewTokens(8);
    window->activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(window.get()));
    auto* button = window->findChild<QPushButton*>("askButton");
    auto* maxTokens = window->findChild<QSpinBox*>("maxTokensSpin");
    button->setFocus();
    QCOMPARE(QApplication::focusWidget(), button);
    QSignalSpy done(window.get(), &MainWindow::askDone);
    QTest::mouseClick(button, Qt::LeftButton);
    QVERIFY(window->isAsking());
    QVERIFY(QApplication::focusWidget() != maxTokens);
    // Digits typed now must not change the limit.
    QTest::keyClicks(QApplication::focusWidget() ? QApplication::focusWidget() : window.get(),
                     "99");
    QCOMPARE(window->comparePane()->maxNewTokens(), 8);
    QVERIFY(done.wait(60000));
    QVERIFY(QApplication::focusWidget() != maxTokens);
}

void TestStudioUsability::errorsShowOnceAndClearWhenResolved() {
    auto window = openWindow({model_, samplePath(), std::nullopt, std::nullopt, {}, {}});
    window->comparePane()->setQuestion({});
    window->comparePane()->setMaxNewTokens(2);
    window->ask();
    QCOMPARE(window->bannerText(), QString("Type a question first."));
    // Once: no dialog and no copy in the status bar.
    for (QWidget* top : QApplication::topLevelWidgets())
        QVERIFY2(!(qobject_cast<QMessageBox*>(top) && top->isVisible()), "an error dialog showed");
    QVERIFY(!window->statusBar()->currentMessage().contains("question"));

    window->comparePane()->setQuestion("What is the door code?");
    QVERIFY(askAndWait(*window));
    QVERIFY2(window->bannerText().isEmpty(), qPrintable(window->bannerText()));

    // "Opening …" leaves the status bar once the document is open; a bad one is said once.
    QSignalSpy ready(window.get(), &MainWindow::documentReady);
    window->openDocument(writeFile("note.txt", "The meeting is on Tuesday."));
    QVERIFY(window->statusBar()->currentMessage().startsWith("Opening"));
    QVERIFY(ready.wait(20000));
    QVERIFY2(!window->statusBar()->currentMessage().startsWith("Opening"),
             qPrintable(window->statusBar()->currentMessage()));
    QSignalSpy error(window.get(), &MainWindow::errorShown);
    window->openDocument(writeFile("program.bin", QByteArray("\x7f"
                                                             "ELF\x02\x01\x01",
                                                             7) +
                                                      QByteArray(600, '\0')));
    QVERIFY(error.wait(20000));
    QVERIFY(window->bannerText().contains("program.bin"));
    QVERIFY(!window->statusBar()->currentMessage().contains("program.bin"));
    for (QWidget* top : QApplication::topLevelWidgets())
        QVERIFY2(!(qobject_cast<QMessageBox*>(top) && top->isVisible()), "an error dialog showed");
    window->openDocument(samplePath());  // resolved: the document's error goes
    QVERIFY(ready.wait(20000));
    QVERIFY2(!window->bannerText().contains("program.bin"), qPrintable(window->bannerText()));
}

void TestStudioUsability::evaluateReportsBadLengthsAndWarnsPastCapacity() {
    auto window = openWindow({model_, samplePath(), std::nullopt, std::nullopt, {}, {}});
    auto* tab = window->evaluateTab();
    window->findChild<QTabWidget*>()->setCurrentWidget(tab);
    tab->findChild<QLineEdit*>("perplexityLengths")->setText("abc, -5, 256");
    QTest::mouseClick(tab->findChild<QPushButton*>("runPerplexity"), Qt::LeftButton);
    QVERIFY(!window->isEvaluating());
    QVERIFY2(window->bannerText().contains("abc") && window->bannerText().contains("-5"),
             qPrintable(window->bannerText()));

    // Past the capacity: a question first, nothing runs until it is answered.
    window->selfExtendPanel()->setGroup(4);
    window->selfExtendPanel()->setWindow(256);  // capacity 1 280
    tab->findChild<QLineEdit*>("passkeyLengths")->setText("256, 4096");
    QTest::mouseClick(tab->findChild<QPushButton*>("runPasskey"), Qt::LeftButton);
    QVERIFY(!window->isEvaluating());
    auto* box = window->findChild<QMessageBox*>("capacityBox");
    QVERIFY(box && box->isVisible() && !box->isModal());
    QVERIFY2(box->text().contains("1,280") || box->text().contains(studio::formatCount(1280)),
             qPrintable(box->text()));
    QVERIFY(box->text().contains(studio::formatCount(4096)));
    box->button(QMessageBox::Cancel)->click();
    QVERIFY(!window->isEvaluating());
    QVERIFY(window->bannerText().isEmpty() || !window->bannerText().contains("abc"));
}

void TestStudioUsability::perplexityChartHasTicksTooltipsAndSurvivesAStop() {
    const QString book = writeFile("long.txt", sampleText().repeated(12));  // ~18 000 tokens
    auto window = openWindow({model_, book, 64, 64, {}, {}});               // capacity 28 736
    auto* tab = window->evaluateTab();
    window->findChild<QTabWidget*>()->setCurrentWidget(tab);
    tab->findChild<QLineEdit*>("perplexityLengths")->setText("256, 512");
    tab->findChild<QSpinBox*>("maxWindows")->setValue(1);
    QSignalSpy done(window.get(), &MainWindow::evaluationDone);
    QTest::mouseClick(tab->findChild<QPushButton*>("runPerplexity"), Qt::LeftButton);
    QVERIFY(done.wait(60000));
    QCOMPARE(tab->perplexityPointCount(), 4);

    // Several labelled ticks on the log axis, and a tooltip on the points.
    const QList<double> ticks = tab->perplexityTicks();
    QVERIFY2(ticks.size() >= 3, qPrintable(QString::number(ticks.size())));
    for (const bool selfExtend : {false, true})
        for (const QPointF& point : tab->perplexityPoints(selfExtend))
            QVERIFY(point.y() >= ticks.front() / 10 && point.y() <= ticks.back() * 10);
    const QPointF first = tab->perplexityPoints(true).first();
    emit tab->perplexitySeries(true)->hovered(first, true);
    const QString tip = QToolTip::text();
    QVERIFY2(tip.contains(QString::number(first.y(), 'f', 2)) && tip.contains("Self-Extend"),
             qPrintable(tip));

    // A long run, stopped: the previous chart stays.
    const QList<QPointF> before = tab->perplexityPoints(false) + tab->perplexityPoints(true);
    tab->findChild<QLineEdit*>("perplexityLengths")->setText("16384, 24576");
    tab->findChild<QSpinBox*>("maxWindows")->setValue(0);
    QTest::mouseClick(tab->findChild<QPushButton*>("runPerplexity"), Qt::LeftButton);
    QVERIFY(window->isEvaluating());
    QTest::qWait(500);
    QVERIFY2(done.count() == 1, "the long run finished before it could be stopped");
    window->stopAll();
    QVERIFY(done.wait(30000));
    QCOMPARE(tab->perplexityPoints(false) + tab->perplexityPoints(true), before);
    auto* bar = tab->findChild<QProgressBar*>("evaluationProgress");
    QCOMPARE(bar->value(), bar->minimum());
}

void TestStudioUsability::evaluationErrorResetsTheProgressBar() {
    auto window = openWindow({model_, samplePath(), std::nullopt, std::nullopt, {}, {}});
    auto* tab = window->evaluateTab();
    window->findChild<QTabWidget*>()->setCurrentWidget(tab);
    // 256 runs; 5 000 is longer than the sample (~1 500 tokens): an error half-way.
    tab->findChild<QLineEdit*>("perplexityLengths")->setText("256, 5000");
    tab->findChild<QSpinBox*>("maxWindows")->setValue(1);
    QSignalSpy done(window.get(), &MainWindow::evaluationDone);
    QTest::mouseClick(tab->findChild<QPushButton*>("runPerplexity"), Qt::LeftButton);
    if (auto* box = window->findChild<QMessageBox*>("capacityBox"))
        box->findChild<QPushButton*>("runAnywayButton")->click();
    QVERIFY(window->isEvaluating());
    QVERIFY(done.wait(60000));
    QVERIFY2(window->bannerText().contains("Perplexity"), qPrintable(window->bannerText()));
    auto* bar = tab->findChild<QProgressBar*>("evaluationProgress");
    QVERIFY2(bar->value() == bar->minimum(),
             qPrintable(QString("%1 of %2").arg(bar->value()).arg(bar->maximum())));
}

void TestStudioUsability::passkeyTableColumnsAreNotCutOff() {
    auto window = openWindow({model_, samplePath(), std::nullopt, std::nullopt, {}, {}});
    window->resize(800, 500);
    auto* tab = window->evaluateTab();
    window->findChild<QTabWidget*>()->setCurrentWidget(tab);
    window->selfExtendPanel()->setGroup(8);
    window->selfExtendPanel()->setWindow(256);  // capacity 2 304
    tab->findChild<QLineEdit*>("passkeyLengths")->setText("256, 1024");
    tab->findChild<QSpinBox*>("depthCount")->setValue(3);
    QSignalSpy done(window.get(), &MainWindow::evaluationDone);
    QTest::mouseClick(tab->findChild<QPushButton*>("runPasskey"), Qt::LeftButton);
    QVERIFY(done.wait(60000));
    auto* table = tab->findChild<QTableWidget*>("passkeyTable");
    QCOMPARE(table->rowCount(), 4);
    // The width each column's contents need (public through the base class).
    const QAbstractItemView* view = table;
    for (int column = 0; column < table->columnCount(); ++column) {
        const int width = table->horizontalHeader()->sectionSize(column);
        const int needed = view->sizeHintForColumn(column);
        QVERIFY2(width >= needed,
                 qPrintable(QString("column %1: %2 < %3").arg(column).arg(width).arg(needed)));
    }
}

// A laptop-sized window puts the pass-key test above the perplexity chart, each the tab's full
// width (the page scrolls down); a large one puts them side by side.
void TestStudioUsability::evaluateStacksTheTestsInASmallWindow() {
    auto window = openWindow({model_, samplePath(), std::nullopt, std::nullopt, {}, {}});
    auto* tab = window->evaluateTab();
    window->findChild<QTabWidget*>()->setCurrentWidget(tab);
    auto* tests = tab->findChild<QSplitter*>("evaluateTests");
    QVERIFY(tests);
    window->resize(1366, 728);
    QTRY_COMPARE(tests->orientation(), Qt::Vertical);
    auto* table = tab->findChild<QTableWidget*>("passkeyTable");
    QVERIFY2(table->width() > tab->width() * 3 / 4,
             qPrintable(QString("table %1 of %2").arg(table->width()).arg(tab->width())));
    // Issue 22.13: the progress and Stop are in view without scrolling, above the tests.
    auto* bar = tab->findChild<QProgressBar*>("evaluationProgress");
    QVERIFY(!bar->visibleRegion().isEmpty());
    QVERIFY(bar->mapTo(tab, QPoint(0, 0)).y() < table->mapTo(tab, QPoint(0, 0)).y());
    window->resize(2400, 1300);
    QTRY_COMPARE(tests->orientation(), Qt::Horizontal);
}

// Issue 22.13: the default lengths follow the model's window and the capacity until the user
// writes their own; the perplexity chart belongs to the document it measured.
void TestStudioUsability::evaluateLengthsFollowTheModelAndTheChartItsDocument() {
    auto window = openWindow({model_, samplePath(), std::nullopt, std::nullopt, {}, {}});
    auto* tab = window->evaluateTab();
    auto* passkey = tab->findChild<QLineEdit*>("passkeyLengths");
    auto* perplexity = tab->findChild<QLineEdit*>("perplexityLengths");
    window->selfExtendPanel()->setGroup(8);
    window->selfExtendPanel()->setWindow(256);  // L = 512: capacity 2 304
    QCOMPARE(passkey->text(), QString("256, 512, 2048"));
    QCOMPARE(perplexity->text(), QString("256, 512, 2048"));
    QTest::keyClicks(passkey, ", 768");      // the user's own: kept from now on
    window->selfExtendPanel()->setGroup(4);  // capacity 1 280
    QCOMPARE(passkey->text(), QString("256, 512, 2048, 768"));
    QCOMPARE(perplexity->text(), QString("256, 512, 1024"));
    QVERIFY2(tab->perplexityTitle().contains("door-code.txt"), qPrintable(tab->perplexityTitle()));

    window->findChild<QTabWidget*>()->setCurrentWidget(tab);
    perplexity->setText("256");
    tab->findChild<QSpinBox*>("maxWindows")->setValue(1);
    QSignalSpy done(window.get(), &MainWindow::evaluationDone);
    QTest::mouseClick(tab->findChild<QPushButton*>("runPerplexity"), Qt::LeftButton);
    QVERIFY(done.wait(60000));
    QCOMPARE(tab->perplexityPointCount(), 2);
    const QString other = writeFile("other.txt", sampleText());
    window->openDocument(other);
    QTRY_VERIFY_WITH_TIMEOUT(tab->perplexityTitle().contains("other.txt"), 20000);
    QCOMPARE(tab->perplexityPointCount(), 0);
}

void TestStudioUsability::badModelAndBadDocumentBothShow() {
    auto window = std::make_unique<MainWindow>();
    window->show();
    QSignalSpy error(window.get(), &MainWindow::errorShown);
    window->start({dir_.filePath("missing-model.gguf"),
                   dir_.filePath("missing-document.txt"),
                   std::nullopt,
                   std::nullopt,
                   {},
                   {}});
    QTRY_VERIFY_WITH_TIMEOUT(error.count() >= 2, 20000);
    const QString banner = window->bannerText();
    QVERIFY2(banner.contains("missing-model.gguf") && banner.contains("missing-document.txt"),
             qPrintable(banner));
}

void TestStudioUsability::modelPickerChecksEachFileBeforeLoading() {
    // A recent model that is no model at all, and one cut short.
    const QString text = writeFile("notes.gguf", "just some text, not a GGUF file\n");
    QFile demo(model_);
    QVERIFY(demo.open(QIODevice::ReadOnly));
    const QString cut = writeFile("cut.gguf", demo.read(demo.size() / 3));
    QSettings().setValue("recentModels", QStringList{text, cut, model_});
    auto window = openWindow({model_, {}, std::nullopt, std::nullopt, {}, {}});
    studio::ModelPicker* picker = window->showModelPicker();
    QTRY_COMPARE_WITH_TIMEOUT(picker->checkedCount(), picker->rowCount(), 20000);
    QHash<QString, QString> verdicts;
    for (int row = 0; row < picker->rowCount(); ++row)
        verdicts[QFileInfo(picker->path(row)).fileName()] = picker->verdict(row);
    QCOMPARE(verdicts.value(QFileInfo(model_).fileName()), QString("yes"));
    QVERIFY2(verdicts.value("notes.gguf").startsWith("no: ") &&
                 verdicts.value("notes.gguf").contains("GGUF"),
             qPrintable(verdicts.value("notes.gguf")));
    QVERIFY2(verdicts.value("cut.gguf").startsWith("no: "), qPrintable(verdicts.value("cut.gguf")));
    // The demo model is listed once (bundled and recent), the current model selected.
    QCOMPARE(verdicts.size(), picker->rowCount());
    if (QFile::exists(testing::smollm2_path())) {
        QCOMPARE(verdicts.value(QFileInfo(testing::smollm2_path()).fileName()), QString("yes"));
        const auto* table = picker->findChild<QTableWidget*>("modelTable");
        for (int row = 0; row < picker->rowCount(); ++row)
            if (picker->path(row).endsWith("SmolLM2-135M-Instruct.Q4_1.gguf"))
                QCOMPARE(table->item(row, 3)->text(), studio::formatCount(8192));
    }
    // A file that does not run cannot be loaded from the picker.
    auto* table = picker->findChild<QTableWidget*>("modelTable");
    auto* load = picker->findChild<QPushButton*>("loadModelButton");
    for (int row = 0; row < picker->rowCount(); ++row) {
        table->selectRow(row);
        QCOMPARE(load->isEnabled(), picker->verdict(row) == "yes");
    }
}

void TestStudioUsability::settingsAreSavedAndReachTheNextQuestion() {
    auto window = openWindow({model_, samplePath(), std::nullopt, std::nullopt, {}, {}});
    studio::SettingsDialog* dialog = window->showSettings();
    auto* kv = dialog->findChild<QComboBox*>("kvTypeCombo");
    kv->setCurrentIndex(kv->findData(int(selfextend::KvType::Q8_0)));
    dialog->findChild<QSpinBox*>("topKSpin")->setValue(7);
    dialog->findChild<QPlainTextEdit*>("systemPromptEdit")->setPlainText("  Be brief.  ");
    dialog->findChild<QCheckBox*>("documentCacheCheck")->setChecked(false);
    // The file's own prompt format stays chosen.
    QCOMPARE(dialog->findChild<QComboBox*>("promptFormatCombo")->currentIndex(), 0);
    dialog->accept();
    QCOMPARE(QSettings().value("kvType").toString(), QString("q8_0"));
    QCOMPARE(QSettings().value("topK").toInt(), 7);
    QCOMPARE(QSettings().value("systemPrompt").toString(), QString("Be brief."));

    // The next question carries them, and the answer runs with them.
    QSignalSpy asked(window->controller(), &studio::StudioController::askRequested);
    window->comparePane()->setQuestion("What is the door code?");
    QVERIFY(askAndWait(*window));
    QCOMPARE(asked.count(), 1);
    const auto request = asked.at(0).at(0).value<studio::AskRequest>();
    QCOMPARE(request.kvType, selfextend::KvType::Q8_0);
    QCOMPARE(request.sampling.top_k, 7);
    QCOMPARE(request.systemPrompt, QString("Be brief."));
    QVERIFY(!request.useDiskCache);
    QVERIFY2(window->comparePane()->selfExtendPane()->statusText().startsWith("done"),
             qPrintable(window->comparePane()->selfExtendPane()->statusText()));

    // A new window starts with them.
    auto second = openWindow({model_, {}, std::nullopt, std::nullopt, {}, {}});
    QCOMPARE(second->engineSettings().kvType, selfextend::KvType::Q8_0);
    QCOMPARE(second->engineSettings().sampling.top_k, 7);
}

void TestStudioUsability::gpuChoiceSaysWhyItIsUnavailable() {
    const selfextend::GpuAvailability gpu = selfextend::gpu_availability();
    if (gpu.available) QSKIP("this machine has a usable GPU: the GPU choice is enabled");
    // Plain words, not the CUDA runtime's ("CUDA driver version is insufficient …").
    const QString reason = QString::fromStdString(gpu.reason);
    QVERIFY2(reason == "No NVIDIA GPU found" ||
                 reason == "This build has no GPU support (it was built without CUDA)" ||
                 reason.startsWith("The NVIDIA"),
             qPrintable(reason));
    auto window = openWindow({model_, {}, std::nullopt, std::nullopt, {}, {}});
    for (QComboBox* combo : {window->findChild<QComboBox*>("deviceCombo"),
                             window->showSettings()->findChild<QComboBox*>("deviceCombo")}) {
        QVERIFY(combo);
        QCOMPARE(combo->count(), 3);
        const auto* items = qobject_cast<QStandardItemModel*>(combo->model());
        QVERIFY(items);
        QVERIFY(items->item(studio::kDeviceCpu)->isEnabled());
        QVERIFY(!items->item(studio::kDeviceGpu)->isEnabled());
        QCOMPARE(combo->itemData(studio::kDeviceGpu, Qt::ToolTipRole).toString(), reason);
    }
    auto* why = window->findChild<QLabel*>("gpuUnavailable");
    QVERIFY(why && why->text().contains(reason));
}

void TestStudioUsability::aSavedGpuThatIsMissingFallsBackToTheCpu() {
    const selfextend::GpuAvailability gpu = selfextend::gpu_availability();
    if (gpu.available) QSKIP("this machine has a usable GPU");
    // The issue: the GPU saved on a machine without one left the next start with no model.
    QSettings().setValue("device", int(studio::kDeviceGpu));
    QSettings().setValue("model", model_);
    auto window = openWindow({{}, {}, std::nullopt, std::nullopt, {}, {}});
    QTRY_VERIFY_WITH_TIMEOUT(window->hasModel(), 30000);
    QCOMPARE(window->modelPanel()->device(), int(studio::kDeviceAuto));
    QVERIFY2(window->bannerText().contains("The GPU chosen in Settings is not available (" +
                                           QString::fromStdString(gpu.reason)),
             qPrintable(window->bannerText()));
    QVERIFY(window->modelPanel()->model().device.startsWith("CPU"));
    // Said once: the device the model loaded on is what the next start uses.
    QCOMPARE(QSettings().value("device").toInt(), int(studio::kDeviceAuto));
    window.reset();
    auto second = openWindow({{}, {}, std::nullopt, std::nullopt, {}, {}});
    QTRY_VERIFY_WITH_TIMEOUT(second->hasModel(), 30000);
    QVERIFY2(!second->bannerText().contains("GPU"), qPrintable(second->bannerText()));
}

void TestStudioUsability::aGpuThatFailsToLoadFallsBackAndIsNotSaved() {
    // A GPU that is offered but cannot load the model (here: said to be there, and missing; on a
    // real GPU, say, out of memory): the model loads on the CPU, the GPU is not saved.
    if (selfextend::gpu_availability().available) QSKIP("this machine has a usable GPU");
    auto window = std::make_unique<MainWindow>(selfextend::GpuAvailability{true, {}});
    window->show();
    window->start({model_, {}, std::nullopt, std::nullopt, {}, {}});
    QTRY_VERIFY_WITH_TIMEOUT(window->hasModel(), 30000);
    auto* combo = window->findChild<QComboBox*>("deviceCombo");
    QVERIFY(qobject_cast<QStandardItemModel*>(combo->model())->item(2)->isEnabled());
    studio::EngineSettings settings = window->engineSettings();
    settings.device = studio::kDeviceGpu;
    QSignalSpy loaded(window.get(), &MainWindow::modelReady);
    window->applySettings(settings);  // as Settings › Device › GPU (CUDA) › OK does
    QVERIFY(loaded.wait(30000));
    QVERIFY(window->hasModel());
    QVERIFY(window->modelPanel()->model().device.startsWith("CPU"));
    QCOMPARE(window->modelPanel()->device(), int(studio::kDeviceAuto));
    QVERIFY2(window->bannerText().contains("The GPU could not load"),
             qPrintable(window->bannerText()));
    QCOMPARE(QSettings().value("device").toInt(), int(studio::kDeviceAuto));
    window->close();  // saving the window's settings saves no device either
    QCOMPARE(QSettings().value("device").toInt(), int(studio::kDeviceAuto));
}

void TestStudioUsability::aDocumentThatFitsRunsOnce() {
    // About 200 tokens: inside the demo model's L = 512, so Auto takes G = 1 (vanilla).
    const QString path =
        writeFile("short.txt",
                  "Remember this: the door code is 4821. The grass is green. The sky "
                  "is blue. The sun is yellow. Here we go. There and back again.\n");
    auto window = openWindow({model_, path, std::nullopt, std::nullopt, {}, {}});
    QVERIFY(window->hasModel());
    QCOMPARE(window->selfExtendPanel()->group(), 1);
    QSignalSpy asked(window->controller(), &studio::StudioController::askRequested);
    window->comparePane()->setQuestion("What is the door code?");
    QVERIFY(askAndWait(*window));
    const auto request = asked.at(0).at(0).value<studio::AskRequest>();
    QVERIFY(request.runVanilla);
    QVERIFY(!request.runSelfExtend);  // one prefill, not the same one twice
    auto* selfExtend = window->comparePane()->selfExtendPane();
    QCOMPARE(selfExtend->statusText(), QString("not needed"));
    QVERIFY2(selfExtend->document()->toPlainText().startsWith(
                 "Self-Extend is not needed for this document"),
             qPrintable(selfExtend->document()->toPlainText()));
    QVERIFY2(window->comparePane()->vanillaPane()->statusText().contains(
                 QRegularExpression("^(done|cut at the token limit) ")),
             qPrintable(window->comparePane()->vanillaPane()->statusText()));
}

void TestStudioUsability::aLatin1DocumentIsDetected() {
    const QString text =
        "Caf\u00e9 na\u00efve: l'\u00e9t\u00e9 \u00e0 c\u00f4t\u00e9 de "
        "l'\u00e9glise, tr\u00e8s bien, gar\u00e7on. Remember this: the door "
        "code is 4821.\n";
    const QString path = writeFile("latin1.txt", text.toLatin1());
    auto window = openWindow({model_, path, std::nullopt, std::nullopt, {}, {}});
    QCOMPARE(window->documentPane()->text(), text);  // not "Caf\ufffd na\ufffdve"
    auto* note = window->documentPane()->findChild<QLabel*>("documentWarning");
    QVERIFY(note && note->isVisible());
    QVERIFY2(note->text().contains(QRegularExpression(
                 "not UTF-8: it was read as (ISO-8859-1|WINDOWS-1252) \\(detected\\)")),
             qPrintable(note->text()));
    QVERIFY2(!window->bannerText().contains("UTF-8"), qPrintable(window->bannerText()));
}

void TestStudioUsability::filesAreToldApartByContent() {
    // The issue: `selfextend-studio notamodel.gguf doc.txt` opened the .gguf as the document
    // and ignored doc.txt without a word.
    const QString notAModel = writeFile("notamodel.gguf", "just some text\n");
    const QString doc = writeFile("doc.txt", sampleText());
    const QString extra = writeFile("extra.txt", "more text\n");
    QFile::remove(dir_.filePath("model.bin"));
    QVERIFY(QFile::copy(model_, dir_.filePath("model.bin")));  // a GGUF by its magic
    const studio::OpenedFiles files =
        studio::sortOpenedFiles({notAModel, doc, dir_.filePath("model.bin"), extra});
    QCOMPARE(files.model, notAModel);  // by name: its load then says it is not a GGUF model
    QCOMPARE(files.document, doc);
    QCOMPARE(files.ignored, QStringList({dir_.filePath("model.bin"), extra}));
    QCOMPARE(studio::sortOpenedFiles({doc, dir_.filePath("model.bin")}).model,
             dir_.filePath("model.bin"));
    // What was not opened is said.
    studio::StartupOptions options{model_, doc, std::nullopt, std::nullopt, {}, {}};
    options.ignoredFiles = {extra};
    auto window = openWindow(options);
    QVERIFY2(window->bannerText().contains("Not opened: " + extra),
             qPrintable(window->bannerText()));
}

void TestStudioUsability::aModelOpenedAsADocumentIsOfferedAsTheModel() {
    auto window = openWindow({model_, samplePath(), std::nullopt, std::nullopt, {}, {}});
    QVERIFY(window->hasModel());
    window->openDocument(model_);  // as File › Open Document on the .gguf
    auto* box = window->findChild<QMessageBox*>("modelAsDocumentBox");
    QVERIFY(box && box->isVisible());
    QVERIFY2(box->text().contains("is a GGUF model, not a document"), qPrintable(box->text()));
    QCOMPARE(window->documentPane()->path(), samplePath());  // the document stays
    QSignalSpy loaded(window.get(), &MainWindow::modelReady);
    box->findChild<QPushButton*>("loadAsModelButton")->click();
    QVERIFY(loaded.wait(30000));
    QCOMPARE(window->documentPane()->path(), samplePath());
}

void TestStudioUsability::helpSaysVersionAndShortcuts() {
    auto window = openWindow({model_, {}, std::nullopt, std::nullopt, {}, {}});
    // Issue 22, item 14: the model's one name (its file's), a base model marked.
    QCOMPARE(window->findChild<QLabel*>("modelName")->text(),
             QString("selfextend-demo-8m-f16 (base model)"));
    const QString about = window->aboutText();
    // The commit is git's short hash in a checkout (as CI builds it), else "unknown".
    QVERIFY2(about.contains(QRegularExpression("\\(commit ([0-9a-f]{7,}|unknown), Qt 6\\.")),
             qPrintable(about));
    QMessageBox* box = window->showShortcuts();
    QVERIFY(box && box->isVisible());
    const QString keys = box->text();
    for (const QString& row : {QString("Ask</td><td>&nbsp;&nbsp;<b>Ctrl+Return or Ctrl+Enter"),
                               QString("Stop</td><td>&nbsp;&nbsp;<b>Esc"),
                               QString("Settings</td><td>&nbsp;&nbsp;<b>Ctrl+,"),
                               QString("Open Document</td><td>&nbsp;&nbsp;<b>Ctrl+O")})
        QVERIFY2(keys.contains(row), qPrintable(row + " not in " + keys));
    box->close();
    // Issue 22.18: a user guide, built in (the repository's docs/user-guide.md), from the menu.
    QAction* guideAction = nullptr;
    for (QAction* menu : window->menuBar()->actions())
        if (menu->menu())
            for (QAction* action : menu->menu()->actions())
                if (action->text().remove('&') == "User Guide") guideAction = action;
    QVERIFY(guideAction);
    guideAction->trigger();
    auto* guide = window->findChild<QTextBrowser*>("userGuide");
    QVERIFY(guide && guide->isVisible());
    QFile source(QString(SE_SOURCE_DIR) + "/docs/user-guide.md");
    QVERIFY(source.open(QIODevice::ReadOnly));
    QVERIFY(source.size() > 2000);
    const QString shown = guide->toPlainText();
    for (const QString& part : {QString("SelfExtend Studio: user guide"),
                                QString("Choosing G and W"), QString("(L − W)·G + W")})
        QVERIFY2(shown.contains(part), qPrintable(part));
    QVERIFY2(about.contains("User Guide"), qPrintable(about));
}

void TestStudioUsability::sampleLinkFillsInItsQuestionAndCopySaysSo() {
    auto window = openWindow({model_, {}, std::nullopt, std::nullopt, {}, {}});
    auto* link = window->documentPane()->findChild<QLabel*>("sampleLink");
    QVERIFY(link && link->isVisible());
    emit link->linkActivated("sample");
    QVERIFY(waitForDocument(*window));
    QCOMPARE(window->comparePane()->question(), QString("What is the door code?"));
    QVERIFY(askAndWait(*window, MainWindow::FitChoice::FitNow));
    auto* copy = window->findChild<QToolButton*>("selfExtendCopy");
    QVERIFY(copy);
    copy->click();
    QCOMPARE(copy->text(), QString("Copied"));
    QCOMPARE(QApplication::clipboard()->text(),
             window->comparePane()->selfExtendPane()->answer().trimmed());
    QTRY_COMPARE_WITH_TIMEOUT(copy->text(), QString("Copy"), 3000);
}

void TestStudioUsability::aNewModelRefitsHandSetValuesUnlessLocked() {
    SKIP_WITHOUT_MODEL(testing::smollm2_path());
    // SmolLM2 (L = 8 192) on the sample, W set by hand to 3 072; then the demo model (L = 512):
    // the issue saw W clamped to 512 and "Does not fit".
    auto window =
        openWindow({testing::smollm2_path(), samplePath(), std::nullopt, std::nullopt, {}, {}});
    auto* panel = window->selfExtendPanel();
    panel->findChild<QSpinBox*>("windowSpin")->setValue(3072);  // as a user does: pins W
    QVERIFY(panel->windowPinned());
    QSignalSpy ready(window.get(), &MainWindow::modelReady);
    window->openModel(model_);
    QVERIFY(ready.wait(30000));
    QTRY_VERIFY_WITH_TIMEOUT(panel->fits(), 20000);
    QVERIFY(!panel->windowPinned());
    QVERIFY(panel->window() < 512);
    QVERIFY2(!window->bannerText().contains("lowered"), qPrintable(window->bannerText()));
    // Locked: the hand-set values stay through a model change (and say so when they no longer
    // fit the new model).
    window->openModel(testing::smollm2_path());
    QVERIFY(ready.wait(30000));
    QTRY_VERIFY_WITH_TIMEOUT(panel->window() >= 512, 20000);
    panel->findChild<QSpinBox*>("groupSpin")->setValue(3);
    panel->findChild<QSpinBox*>("windowSpin")->setValue(3000);  // not Auto's 2 048: a change
    panel->findChild<QCheckBox*>("lockCheck")->setChecked(true);
    window->openModel(model_);
    QVERIFY(ready.wait(30000));
    QCOMPARE(panel->group(), 3);
    QVERIFY(panel->windowPinned());
    QVERIFY2(window->bannerText().contains("lowered to W = 512"), qPrintable(window->bannerText()));
}

// Issue 22.7: a repeat penalty on by default for chat models (off for the plain format's base
// models), shown in Settings; a choice of the user's own stays.
void TestStudioUsability::chatModelsGetARepeatPenaltyByDefault() {
    SKIP_WITHOUT_MODEL(testing::smollm2_path());
    auto window = openWindow({model_, samplePath(), std::nullopt, std::nullopt, {}, {}});
    QCOMPARE(window->engineSettings().sampling.repeat_penalty, 1.0f);  // demo: plain format
    QSignalSpy ready(window.get(), &MainWindow::modelReady);
    window->openModel(testing::smollm2_path());
    QVERIFY(ready.wait(30000));
    QCOMPARE(window->engineSettings().sampling.repeat_penalty, 1.1f);  // ChatML
    studio::EngineSettings settings = window->engineSettings();
    settings.sampling.repeat_penalty = 1.3f;
    window->applySettings(settings);
    QCOMPARE(window->engineSettings().sampling.repeat_penalty, 1.3f);
    window->openModel(model_);
    QVERIFY(ready.wait(30000));
    QCOMPARE(window->engineSettings().sampling.repeat_penalty, 1.3f);  // the user's, kept
    settings = window->engineSettings();
    settings.sampling.repeat_penalty = 1.0f;  // back to this model's default: follows again
    window->applySettings(settings);
    window->openModel(testing::smollm2_path());
    QVERIFY(ready.wait(30000));
    QCOMPARE(window->engineSettings().sampling.repeat_penalty, 1.1f);
    // Room for an answer of a few sentences by default.
    QSettings().remove("maxNewTokens");
    auto fresh = openWindow({model_, samplePath(), std::nullopt, std::nullopt, {}, {}});
    QCOMPARE(fresh->comparePane()->maxNewTokens(), 128);
}

void TestStudioUsability::documentTypesComeFromOneList() {
    // The file dialog's filter and the empty pane's hint, from selfextend::document_formats().
    const QString filter = studio::documentFileFilter();
    QVERIFY2(filter.startsWith("Documents (*.txt *.text *.md *.markdown *.html *.htm *.xhtml "
                               "*.epub *.pdf);;Plain text (*.txt *.text);;Markdown (*.md "
                               "*.markdown);;HTML"),
             qPrintable(filter));
    QVERIFY(filter.endsWith(";;PDF (*.pdf);;All files (*)"));
    auto window = openWindow({model_, {}, std::nullopt, std::nullopt, {}, {}});
    auto* view = window->documentPane()->findChild<QPlainTextEdit*>();
    QVERIFY(view);
    QVERIFY2(view->placeholderText().startsWith("Open a .txt, .md, .html, .epub or .pdf file"),
             qPrintable(view->placeholderText()));
}

void TestStudioUsability::promptFormatTheVocabularyLacksIsRefused() {
    auto window = openWindow({model_, samplePath(), std::nullopt, std::nullopt, {}, {}});
    auto* combo = window->findChild<QComboBox*>("promptFormat");
    QVERIFY(combo && combo->isEnabled());
    QCOMPARE(combo->currentIndex(), 0);
    QCOMPARE(combo->currentText(), QString("plain (the file's)"));
    const qint64 required = window->selfExtendPanel()->requiredTokens();
    // The demo model's SentencePiece vocabulary has no <|im_start|>.
    combo->setCurrentIndex(combo->findText("ChatML"));
    QTRY_VERIFY_WITH_TIMEOUT(window->bannerText().contains("ChatML cannot be used"), 10000);
    QTRY_COMPARE(combo->currentIndex(), 0);
    QCOMPARE(window->selfExtendPanel()->requiredTokens(), required);
}

void TestStudioUsability::promptFormatOverrideChangesThePrompt() {
    SKIP_WITHOUT_MODEL(testing::smollm2_path());
    auto window =
        openWindow({testing::smollm2_path(), samplePath(), std::nullopt, std::nullopt, {}, {}});
    QVERIFY(window->hasModel());
    auto* combo = window->findChild<QComboBox*>("promptFormat");
    QCOMPARE(combo->currentText(), QString("ChatML (the file's)"));
    auto* panel = window->selfExtendPanel();
    const qint64 chatml = panel->requiredTokens();
    // Plain has no system turn and no turn markers: fewer tokens around the same document.
    combo->setCurrentIndex(combo->findText("plain"));
    QTRY_VERIFY_WITH_TIMEOUT(panel->requiredTokens() < chatml, 10000);
    QVERIFY2(!window->bannerText().contains("cannot be used"), qPrintable(window->bannerText()));
    QCOMPARE(window->modelPanel()->promptFormat(), QString("plain"));
    // Back to the file's own format.
    combo->setCurrentIndex(0);
    QTRY_COMPARE_WITH_TIMEOUT(panel->requiredTokens(), chatml, 10000);
    // SmolLM2's vocabulary has no Llama-3 header tokens.
    combo->setCurrentIndex(combo->findText("Llama-3"));
    QTRY_VERIFY_WITH_TIMEOUT(window->bannerText().contains("Llama-3 cannot be used"), 10000);
    QTRY_COMPARE(combo->currentIndex(), 0);
}

void TestStudioUsability::followUpsKeepTheDocumentAndNewConversationForgets() {
    // Short answers: vanilla past its window writes junk to the limit, which the follow-up's
    // prompt then holds.
    QSettings().setValue("maxNewTokens", 48);
    auto window = openWindow({model_, samplePath(), std::nullopt, std::nullopt, {}, {}});
    auto* compare = window->comparePane();
    auto* vanilla = compare->vanillaPane();
    auto* extended = compare->selfExtendPane();
    const qint64 documentTokens = window->documentPane()->tokenCount();
    compare->setQuestion("What is the door code?");
    QVERIFY(askAndWait(*window));
    QCOMPARE(extended->turns().size(), 1);
    QVERIFY2(!extended->statusText().contains("kept"), qPrintable(extended->statusText()));
    QVERIFY(computedPrefillTokens(extended->statusText()) > documentTokens);
    const QString firstAnswer = extended->answer();

    // A follow-up: the document and the first turn stay in the session, only the rest is run.
    compare->setQuestion("Who wrote the note?");
    QVERIFY(askAndWait(*window));
    for (auto* pane : {vanilla, extended}) {
        QCOMPARE(pane->turns().size(), 2);
        QCOMPARE(pane->turns()[0].question, QString("What is the door code?"));
        QVERIFY2(pane->statusText().contains("kept from the last question"),
                 qPrintable(pane->statusText()));
        const qint64 computed = computedPrefillTokens(pane->statusText());
        qInfo("follow-up: %s", qPrintable(pane->statusText()));
        QVERIFY2(computed > 0 && computed < 100, qPrintable(pane->statusText()));
    }
    QVERIFY2(extended->findChild<QLabel*>("selfExtendSettings")->text().contains("follow-up"),
             qPrintable(extended->findChild<QLabel*>("selfExtendSettings")->text()));
    const QString shown = extended->document()->toPlainText();
    QVERIFY2(shown.startsWith("▸ What is the door code?\n" + firstAnswer.trimmed()),
             qPrintable(shown));
    QVERIFY2(shown.contains("▸ Who wrote the note?\n"), qPrintable(shown));
    // answer() is the latest answer alone, not the conversation shown above it.
    QCOMPARE(extended->answer(), extended->turns()[1].answer);
    QVERIFY(!extended->answer().contains(QString::fromUtf8("▸")));

    // New conversation: the turns go, the document's KV stays.
    QTest::mouseClick(compare->findChild<QPushButton*>("newConversationButton"), Qt::LeftButton);
    QCOMPARE(extended->turns().size(), 0);
    QVERIFY(extended->document()->toPlainText().isEmpty());
    compare->setQuestion("What is the door code?");
    QVERIFY(askAndWait(*window));
    QCOMPARE(extended->turns().size(), 1);
    QVERIFY(!extended->findChild<QLabel*>("selfExtendSettings")->text().contains("follow-up"));
    QVERIFY2(extended->statusText().contains("kept from the last question"),
             qPrintable(extended->statusText()));
    QCOMPARE(extended->answer(), firstAnswer);  // greedy, the same prompt: the same answer

    // Another G: Self-Extend's keys and values change, so its conversation starts again;
    // vanilla's goes on.
    auto* panel = window->selfExtendPanel();
    panel->setGroup(panel->group() + 1);
    compare->setQuestion("Who wrote the note?");
    QVERIFY(askAndWait(*window, MainWindow::FitChoice::RunAnyway));
    QCOMPARE(vanilla->turns().size(), 2);
    QCOMPARE(extended->turns().size(), 1);
    QVERIFY2(!extended->statusText().contains("kept"), qPrintable(extended->statusText()));

    // Exported as Markdown: each side's turns under its heading, questions in order.
    const QString path = dir_.filePath("conversation.md");
    QVERIFY(window->exportConversation(path));
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QString md = QString::fromUtf8(file.readAll());
    QVERIFY2(md.startsWith("# Questions on door-code.txt\n"), qPrintable(md));
    const qsizetype vanillaAt = md.indexOf("\n## Vanilla\n");
    const qsizetype extendedAt = md.indexOf("\n## Self-Extend\n");
    QVERIFY2(vanillaAt > 0 && extendedAt > vanillaAt, qPrintable(md));
    QCOMPARE(md.mid(vanillaAt, extendedAt - vanillaAt).count("**Q:** "), 2);
    QCOMPARE(md.mid(extendedAt).count("**Q:** Who wrote the note?"), 1);
    QVERIFY(md.mid(extendedAt).contains("*Self-Extend G="));
}

void TestStudioUsability::documentCacheAnswersInANewWindowWithoutAPrefill() {
    QSettings().setValue("documentCache", true);
    QTemporaryDir cache;
    qputenv("SE_CACHE_DIR", cache.path().toUtf8());
    const QString question = "What is the door code?";
    QString first;
    {
        auto window = openWindow({model_, samplePath(), std::nullopt, std::nullopt, {}, {}});
        window->comparePane()->vanillaPane()->setEnabledForRuns(false);
        window->comparePane()->setQuestion(question);
        QVERIFY(askAndWait(*window));
        const QString status = window->comparePane()->selfExtendPane()->statusText();
        QVERIFY2(!status.contains("disk cache"), qPrintable(status));
        first = window->comparePane()->selfExtendPane()->answer();
    }
    QVERIFY(!QDir(cache.path()).entryList(QDir::Files).isEmpty());
    auto window = openWindow({model_, samplePath(), std::nullopt, std::nullopt, {}, {}});
    window->comparePane()->vanillaPane()->setEnabledForRuns(false);
    window->comparePane()->setQuestion(question);
    QVERIFY(askAndWait(*window));
    auto* pane = window->comparePane()->selfExtendPane();
    qInfo("second window: %s", qPrintable(pane->statusText()));
    QVERIFY2(pane->statusText().contains("the document from the disk cache"),
             qPrintable(pane->statusText()));
    const qint64 computed = computedPrefillTokens(pane->statusText());
    QVERIFY2(computed > 0 && computed < 100, qPrintable(pane->statusText()));
    QCOMPARE(pane->answer(), first);
    qunsetenv("SE_CACHE_DIR");
}

void TestStudioUsability::windowPastTheModelsLIsNotClampedSilently() {
    auto window = openWindow({model_, samplePath(), std::nullopt, 900, {}, {}});
    QVERIFY(window->hasModel());
    const QString banner = window->bannerText();
    QVERIFY2(banner.contains("900") && banner.contains("512"), qPrintable(banner));
    // Resolved once W is below L.
    QTest::mouseClick(window->findChild<QPushButton*>("autoButton"), Qt::LeftButton);
    QVERIFY2(!window->bannerText().contains("900"), qPrintable(window->bannerText()));
}

void TestStudioUsability::defaultWindowFitsASmallScreen() {
    // A 1366×768 laptop leaves about 1366×728 to windows.
    const QSize laptop = MainWindow::firstWindowSize({1366, 728});
    QVERIFY2(laptop.width() <= 1300 && laptop.height() <= 700,
             qPrintable(QString("%1x%2").arg(laptop.width()).arg(laptop.height())));
    QVERIFY(laptop.width() >= 800 && laptop.height() >= 500);
    QCOMPARE(MainWindow::firstWindowSize({3840, 2000}), QSize(1280, 700));

    auto window = openWindow({model_, samplePath(), std::nullopt, std::nullopt, {}, {}});
    QVERIFY2(window->width() <= 1300 && window->height() <= 700,
             qPrintable(QString("%1x%2").arg(window->width()).arg(window->height())));
    QVERIFY(window->minimumWidth() > 0 && window->minimumHeight() > 0);
    QVERIFY(window->minimumWidth() <= 800 && window->minimumHeight() <= 500);
    // Issue 22.18: at a laptop's size the document shows more than five lines, and enlarging it
    // as far as the splitter goes leaves the answers several.
    {
        window->resize(laptop);
        QTest::qWait(50);
        const double line = window->fontMetrics().height();
        const auto lines = [&](const char* name) {
            return window->findChild<QAbstractScrollArea*>(name)->viewport()->height() / line;
        };
        qInfo("%dx%d: document %.1f lines, answers %.1f", window->width(), window->height(),
              lines("documentText"), lines("selfExtendAnswer"));
        QVERIFY2(lines("documentText") >= 7, qPrintable(QString::number(lines("documentText"))));
        QVERIFY2(lines("selfExtendAnswer") >= 7,
                 qPrintable(QString::number(lines("selfExtendAnswer"))));
        auto* tabs = window->findChild<QTabWidget*>();
        auto* split = qobject_cast<QSplitter*>(tabs->parentWidget());
        QVERIFY(split);
        split->setSizes({5000, 1});
        QTest::qWait(50);
        QVERIFY2(lines("selfExtendAnswer") >= 5,
                 qPrintable(QString::number(lines("selfExtendAnswer"))));
        QVERIFY2(lines("documentText") >= 10, qPrintable(QString::number(lines("documentText"))));
    }
    window->resize(800, 500);
    QTest::qWait(50);
    QCOMPARE(window->size(), QSize(800, 500));
    auto* tabs = window->findChild<QTabWidget*>();
    for (int tab = 0; tab < tabs->count(); ++tab) {
        tabs->setCurrentIndex(tab);
        QTest::qWait(50);
        const QStringList clipped = clippedWidgets(window.get());
        QVERIFY2(clipped.isEmpty(), qPrintable(tabs->tabText(tab) + ": " + clipped.join("; ")));
    }
}

void TestStudioUsability::answerPanesHaveEqualWidth() {
    auto window = openWindow({model_, samplePath(), std::nullopt, std::nullopt, {}, {}});
    for (const QSize size : {QSize(1280, 700), QSize(800, 500)}) {
        window->resize(size);
        QTest::qWait(50);
        const int vanilla = window->comparePane()->vanillaPane()->width();
        const int extended = window->comparePane()->selfExtendPane()->width();
        QVERIFY2(std::abs(vanilla - extended) <= 2, qPrintable(QString("%1 vs %2 at %3x%4")
                                                                   .arg(vanilla)
                                                                   .arg(extended)
                                                                   .arg(size.width())
                                                                   .arg(size.height())));
    }
}

// Issue 22.15: the position axis's L label is whole, even grouped ("32,768" for Gemma 3).
void TestStudioUsability::positionAxisLabelIsWhole() {
    studio::PositionPlot plot;
    plot.resize(260, 160);
    for (const qint64 L : {qint64(512), qint64(8192), qint64(32768), qint64(131072)}) {
        plot.setParameters(L, 4, int(L / 4), -1);
        const int label = plot.fontMetrics().horizontalAdvance(studio::formatCount(L));
        QVERIFY2(plot.plotRect().left() - 4 >= label,
                 qPrintable(QString("L %1: %2 px for a %3 px label")
                                .arg(L)
                                .arg(plot.plotRect().left() - 4)
                                .arg(label)));
    }
}

void TestStudioUsability::plotTitleClearsTheLLine() {
    studio::PositionPlot plot;
    for (const QSize size : {QSize(200, 140), QSize(300, 200), QSize(600, 400)}) {
        plot.resize(size);
        for (const qint64 tokens : {qint64(-1), qint64(1600), qint64(30000)}) {
            plot.setParameters(512, 6, 256, tokens);
            QVERIFY(plot.titleRect().bottom() < plot.trainingWindowY() - 2);
            QVERIFY(plot.plotRect().top() >= plot.titleRect().bottom());
        }
    }
}

void TestStudioUsability::stopKeepsThePrefillNumbers() {
    const QString book = writeFile("long.txt", sampleText().repeated(12));  // ~18 000 tokens
    auto window = openWindow({model_, book, std::nullopt, std::nullopt, {}, {}});
    QVERIFY(window->selfExtendPanel()->fits());
    window->comparePane()->vanillaPane()->setEnabledForRuns(false);
    window->comparePane()->setQuestion("What is the door code?");
    QSignalSpy done(window.get(), &MainWindow::askDone);
    window->ask();
    auto* pane = window->comparePane()->selfExtendPane();
    QTRY_VERIFY_WITH_TIMEOUT(pane->statusText().startsWith("prefill "), 20000);
    QTest::qWait(300);
    QVERIFY2(done.isEmpty(), "the prefill finished before it could be stopped");
    window->stopAll();
    QVERIFY(done.wait(20000));
    const QString status = pane->statusText();
    QVERIFY2(status.startsWith("stopped during prefill"), qPrintable(status));
    QVERIFY2(!status.contains(" 0 of ") && !status.contains(" 0.0 s"), qPrintable(status));
    // Issue 22.9: the bar shows where it stopped, not 100 %, and the window says it stopped.
    const int shown = pane->findChild<QProgressBar*>()->value();
    QVERIFY2(shown > 0 && shown < 1000, qPrintable(QString::number(shown)));
    QCOMPARE(window->statusBar()->currentMessage(), QString("Stopped"));
    // Asking again goes on from there: the part prefilled is kept.
    QVERIFY(askAndWait(*window));
    QVERIFY2(pane->statusText().contains("kept from the last question"),
             qPrintable(pane->statusText()));
}

void TestStudioUsability::tokensAreAppendedInBatches() {
    // A decode at hundreds of tokens a second must not repaint the text once per token.
    studio::AnswerPane pane(studio::AnswerSide::SelfExtend);
    pane.show();
    pane.begin("settings", 10);
    auto* text = pane.findChild<QTextEdit*>("selfExtendAnswer");
    QSignalSpy changes(text, &QTextEdit::textChanged);
    QString expected;
    for (int i = 0; i < 500; ++i) {
        const QString token = QString(" t%1").arg(i);
        expected += token;
        pane.appendToken(token, i + 1, 400);
    }
    QTest::qWait(100);
    QVERIFY2(changes.count() <= 5, qPrintable(QString::number(changes.count())));
    QCOMPARE(pane.answer(), expected);
    studio::RunStats stats;
    stats.promptTokens = stats.prefilledTokens = 10;
    stats.generatedTokens = 500;
    pane.finish(stats);
    QCOMPARE(text->toPlainText(), expected.trimmed());  // rendered from Markdown
}

QTEST_MAIN(TestStudioUsability)
#include "tst_studio_usability.moc"
