// The whole window against the real engine and the bundled demo model (8 M parameters, L = 512):
// loading, Self-Extend settings, a compare ask, cancelling a prefill, and error reporting.
#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPainter>
#include <QPdfWriter>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTemporaryFile>
#include <QTest>

#include "AnswerPane.h"
#include "ComparePane.h"
#include "DocumentPane.h"
#include "EvaluateTab.h"
#include "Format.h"
#include "MainWindow.h"
#include "ModelPanel.h"
#include "ResourcePaths.h"
#include "SelfExtendPanel.h"
#include "test_paths.h"

using studio::formatCount;

namespace {

QByteArray readBook(const QString& name) {
    QFile file(testing::shared_path("corpus/books/" + name));
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

}  // namespace

class TestStudio : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase();
    void loadsModelAndSample();
    void loadsBook();
    void groupAndWindowSetTheCapacity();
    void compareAskFillsBothPanes();
    void stopCancelsALongPrefill();
    void evaluateFillsTableHeatmapAndChart();
    void pdfAndHtmlDocumentsShowTheirText();
    void binaryDocumentShowsAnError();
    void invalidUtf8IsReplacedAndFlagged();
    void settingsPersistOnClose();
    void brokenModelShowsAnError();
    void cleanupTestCase();

  private:
    QString writeFile(const QString& name, const QByteArray& bytes);
    void openAndWait(const QString& path);

    QTemporaryDir dir_;
    QString model_;
    std::unique_ptr<studio::MainWindow> window_;
};

void TestStudio::initTestCase() {
    QVERIFY(dir_.isValid());
    // Keep the user's settings out of the tests (and the tests out of the user's settings).
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, dir_.path());
    QCoreApplication::setOrganizationName("SelfExtendTests");
    QCoreApplication::setApplicationName("tst_studio");
    // Conversations are not kept between these tests' questions (tst_studio_conversations).
    QSettings().setValue("saveConversations", false);
    model_ = studio::findBundledModel();
    QVERIFY2(!model_.isEmpty(),
             "the bundled demo model resources/models/"
             "selfextend-demo-8m-f16.gguf is missing");
    // Tests that read the shared books skip (or fail under CI) one by one; the rest always run.
    window_ = std::make_unique<studio::MainWindow>();
    window_->show();
}

QString TestStudio::writeFile(const QString& name, const QByteArray& bytes) {
    const QString path = dir_.filePath(name);
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size()) return {};
    return path;
}

void TestStudio::openAndWait(const QString& path) {
    QSignalSpy ready(window_.get(), &studio::MainWindow::documentReady);
    window_->openDocument(path);
    QVERIFY(ready.wait(20000));
    QTRY_VERIFY_WITH_TIMEOUT(window_->documentPane()->tokenCount() > 0, 20000);
}

void TestStudio::loadsModelAndSample() {
    // The bundled model and sample: no shared material needed.
    const QString sample = QString(SE_SOURCE_DIR) + "/resources/samples/door-code.txt";
    QSignalSpy modelReady(window_.get(), &studio::MainWindow::modelReady);
    QSignalSpy documentReady(window_.get(), &studio::MainWindow::documentReady);
    window_->start({model_, sample, std::nullopt, std::nullopt, {}, {}});
    QVERIFY(modelReady.wait(30000));
    QVERIFY(documentReady.count() > 0 || documentReady.wait(20000));
    QTRY_VERIFY_WITH_TIMEOUT(window_->documentPane()->tokenCount() > 512, 20000);
    QVERIFY(window_->hasModel());
    QCOMPARE(window_->modelPanel()->model().trainingWindow(), 512);
}

void TestStudio::loadsBook() {
    SKIP_WITHOUT_SHARED();
    openAndWait(writeFile("alice.txt", readBook("pg11_alice_in_wonderland.txt").left(20000)));
    QVERIFY(window_->documentPane()->tokenCount() > 4000);
    QVERIFY(window_->documentPane()->summaryText().contains(
        formatCount(window_->documentPane()->tokenCount())));
    QVERIFY2(window_->modelPanel()->memoryText().contains("needed"),
             qPrintable(window_->modelPanel()->memoryText()));
}

void TestStudio::groupAndWindowSetTheCapacity() {
    SKIP_WITHOUT_SHARED();  // the book of loadsBook
    auto* group = window_->findChild<QSpinBox*>("groupSpin");
    auto* win = window_->findChild<QSpinBox*>("windowSpin");
    auto* label = window_->findChild<QLabel*>("capacityLabel");
    QVERIFY(group && win && label);
    win->setValue(128);
    group->setValue(16);
    QVERIFY2(label->text().contains(formatCount((512 - 128) * 16 + 128)),
             qPrintable(label->text()));
    win->setValue(256);
    group->setValue(3);
    QVERIFY2(label->text().contains(formatCount((512 - 256) * 3 + 256)), qPrintable(label->text()));
    // ~20 kB of text is several thousand tokens: G = 3 cannot hold it; Auto must.
    auto* fit = window_->findChild<QLabel*>("fitLabel");
    QVERIFY(fit->text().contains("Does not fit"));
    QTest::mouseClick(window_->findChild<QPushButton*>("autoButton"), Qt::LeftButton);
    QVERIFY2(fit->text().contains("Fits"), qPrintable(fit->text()));
    QVERIFY(window_->selfExtendPanel()->capacity() >= window_->selfExtendPanel()->requiredTokens());
}

void TestStudio::compareAskFillsBothPanes() {
    SKIP_WITHOUT_SHARED();
    // About 3 kB: past the 512-token window, so vanilla overflows and Self-Extend groups.
    openAndWait(writeFile("short.txt", readBook("pg1342_pride_and_prejudice.txt").mid(3000, 3000)));
    window_->selfExtendPanel()->setWindow(128);
    window_->selfExtendPanel()->autoPick();
    window_->comparePane()->setQuestion("Who is the story about?");
    window_->comparePane()->setMaxNewTokens(16);
    window_->comparePane()->vanillaPane()->setEnabledForRuns(true);
    window_->comparePane()->selfExtendPane()->setEnabledForRuns(true);
    QSignalSpy done(window_.get(), &studio::MainWindow::askDone);
    QElapsedTimer clock;
    clock.start();
    QTest::keyClick(window_.get(), Qt::Key_Return, Qt::ControlModifier);  // the Ask shortcut
    QVERIFY(window_->isAsking());
    QVERIFY(done.wait(30000));
    const QString vanilla = window_->comparePane()->vanillaPane()->answer();
    const QString extended = window_->comparePane()->selfExtendPane()->answer();
    qInfo("ask took %lld ms; vanilla: %s | self-extend: %s", clock.elapsed(), qPrintable(vanilla),
          qPrintable(extended));
    QVERIFY(!vanilla.trimmed().isEmpty());
    QVERIFY(!extended.trimmed().isEmpty());
    QVERIFY(vanilla != extended);
    QVERIFY(window_->comparePane()->selfExtendPane()->statusText().startsWith("done"));

    // Truncated vanilla: the last tokens of the prompt, question kept, all inside L.
    window_->comparePane()->vanillaPane()->setTruncated(true);
    window_->comparePane()->selfExtendPane()->setEnabledForRuns(false);
    window_->ask();
    QVERIFY(done.wait(30000));
    const auto* settings = window_->findChild<QLabel*>("vanillaSettings");
    QVERIFY2(settings->text().contains("truncated to the last"), qPrintable(settings->text()));
    QVERIFY(!window_->comparePane()->vanillaPane()->answer().trimmed().isEmpty());
    window_->comparePane()->vanillaPane()->setTruncated(false);
    window_->comparePane()->selfExtendPane()->setEnabledForRuns(true);
}

void TestStudio::stopCancelsALongPrefill() {
    SKIP_WITHOUT_SHARED();
    // A long book: the prefill takes seconds, Stop must end it within a fraction of one. 80 kB
    // is about 21 000 tokens (a KV cache of about 250 MB); W = 128 lets a G <= 64 hold it.
    openAndWait(writeFile("long.txt", readBook("pg1342_pride_and_prejudice.txt").left(80000)));
    window_->selfExtendPanel()->setWindow(128);
    window_->selfExtendPanel()->autoPick();
    QVERIFY(window_->selfExtendPanel()->fits());
    window_->comparePane()->vanillaPane()->setEnabledForRuns(false);
    window_->comparePane()->setQuestion("Who marries Elizabeth?");
    QSignalSpy done(window_.get(), &studio::MainWindow::askDone);
    window_->ask();
    auto* pane = window_->comparePane()->selfExtendPane();
    QTRY_VERIFY_WITH_TIMEOUT(pane->statusText().startsWith("prefill "), 20000);
    QTest::qWait(300);
    QVERIFY2(done.isEmpty(), "the prefill finished before it could be stopped; use a longer text");
    QElapsedTimer clock;
    clock.start();
    QTest::keyClick(window_.get(), Qt::Key_Escape);  // the Stop shortcut
    // A stop takes tens of milliseconds (one prefill chunk); the bound is generous for a loaded
    // 2-core CI machine, and still far below the many seconds the prefill would go on for.
    QVERIFY(done.wait(10000));
    qInfo("stopped %lld ms after Esc", clock.elapsed());
    QVERIFY(clock.elapsed() < 5000);
    QVERIFY2(pane->statusText().startsWith("stopped"), qPrintable(pane->statusText()));

    // The worker is free again: a short run after the stop still works.
    openAndWait(writeFile("after.txt", readBook("pg11_alice_in_wonderland.txt").mid(5000, 1500)));
    window_->comparePane()->vanillaPane()->setEnabledForRuns(true);
    window_->comparePane()->setMaxNewTokens(8);
    window_->ask();
    QVERIFY(done.wait(30000));
    // Finished: done, or (8 tokens) cut at the token limit, and says which. The short text fits
    // in L, so G = 1 and the vanilla run answers for both sides.
    const auto* vanilla = window_->comparePane()->vanillaPane();
    QVERIFY2(vanilla->statusText().contains(QRegularExpression("^(done|cut at the token limit) ")),
             qPrintable(vanilla->statusText()));
    QCOMPARE(pane->statusText(), QString("not needed"));
}

void TestStudio::evaluateFillsTableHeatmapAndChart() {
    SKIP_WITHOUT_SHARED();
    // Short lengths so the demo model answers in well under a second per trial.
    openAndWait(writeFile("ppl.txt", readBook("pg11_alice_in_wonderland.txt").mid(2000, 12000)));
    window_->selfExtendPanel()->setWindow(128);
    window_->selfExtendPanel()->setGroup(4);
    auto* tab = window_->evaluateTab();
    window_->findChild<QTabWidget*>()->setCurrentWidget(tab);
    tab->findChild<QLineEdit*>("passkeyLengths")->setText("256, 768");
    tab->findChild<QSpinBox*>("depthCount")->setValue(2);
    QSignalSpy done(window_.get(), &studio::MainWindow::evaluationDone);
    QTest::mouseClick(tab->findChild<QPushButton*>("runPasskey"), Qt::LeftButton);
    QVERIFY(done.wait(30000));
    QCOMPARE(tab->passkeyRowCount(), 4);  // 2 lengths x (vanilla, Self-Extend)

    tab->findChild<QLineEdit*>("perplexityLengths")->setText("256, 1024");
    tab->findChild<QSpinBox*>("maxWindows")->setValue(1);
    QTest::mouseClick(tab->findChild<QPushButton*>("runPerplexity"), Qt::LeftButton);
    QVERIFY(done.wait(30000));
    QCOMPARE(tab->perplexityPointCount(), 4);

    QVERIFY(tab->exportCsv(dir_.filePath("results.csv")));
    QFile csv(dir_.filePath("results.csv"));
    QVERIFY(csv.open(QIODevice::ReadOnly));
    QVERIFY(csv.readAll().count('\n') >= 1 + 2 * 2 * 2 + 4);
    QVERIFY(tab->exportPng(dir_.filePath("results.png")));

    // SE_UI_SHOT_DIR: keep pictures of the window for a human to look at.
    if (const QString shots = qEnvironmentVariable("SE_UI_SHOT_DIR"); !shots.isEmpty()) {
        window_->grab().save(shots + "/evaluate.png");
        window_->findChild<QTabWidget*>()->setCurrentIndex(0);
        window_->grab().save(shots + "/ask.png");
    }
    window_->findChild<QTabWidget*>()->setCurrentIndex(0);
}

void TestStudio::pdfAndHtmlDocumentsShowTheirText() {
    const QString pdf = dir_.filePath("letter.pdf");
    {
        QPdfWriter writer(pdf);
        QPainter painter(&writer);
        QFont font = painter.font();
        font.setPointSize(12);
        painter.setFont(font);
        painter.drawText(QRect(0, 0, writer.width(), writer.height() / 4), Qt::TextWordWrap,
                         "The door code is 4821. Remember this.");
    }
    QSignalSpy ready(window_.get(), &studio::MainWindow::documentReady);
    window_->openDocument(pdf);
    QVERIFY(ready.wait(10000));
    QVERIFY2(window_->documentPane()->text().contains("door code is 4821"),
             qPrintable(window_->documentPane()->text()));

    window_->openDocument(writeFile("page.html",
                                    "<html><head><style>p{color:red}</style></head>"
                                    "<body><p>Anna&#39;s favourite city is <b>Oslo</b>.</p>"
                                    "</body></html>"));
    QVERIFY(ready.wait(10000));
    const QString text = window_->documentPane()->text();
    QVERIFY2(text.contains("Anna's favourite city is Oslo.") && !text.contains("<b>") &&
                 !text.contains("color:red"),
             qPrintable(text));
}

void TestStudio::binaryDocumentShowsAnError() {
    QByteArray bytes(
        "\x7f"
        "ELF\x02\x01\x01",
        7);
    bytes.append(QByteArray(600, '\0'));
    const QString path = writeFile("program.bin", bytes);
    QSignalSpy error(window_.get(), &studio::MainWindow::errorShown);
    window_->openDocument(path);
    QVERIFY(error.wait(10000));
    QVERIFY2(window_->lastError().contains("program.bin"), qPrintable(window_->lastError()));
    auto* banner = window_->findChild<QLabel*>("errorBannerText");
    QVERIFY(banner && banner->isVisible());
    QCOMPARE(banner->text(), window_->lastError());
    // Shown once: in the banner, not also in a dialog.
    QVERIFY(!window_->findChild<QMessageBox*>());
}

void TestStudio::invalidUtf8IsReplacedAndFlagged() {
    // UTF-8 (the é) with a stray Latin-1 byte (the è): damaged UTF-8, not a legacy encoding (a
    // whole Latin-1 file is read as Latin-1: tst_studio_usability's aLatin1DocumentIsDetected).
    const QString path =
        writeFile("damaged.txt", QByteArray("Caf\xc3\xa9 cr\xe8me, na\xc3\xafve. ").repeated(20));
    QSignalSpy ready(window_.get(), &studio::MainWindow::documentReady);
    window_->openDocument(path);
    QVERIFY(ready.wait(10000));
    auto* warning = window_->findChild<QLabel*>("documentWarning");
    QVERIFY(warning && warning->isVisible());
    QVERIFY(window_->documentPane()->text().contains(QChar(0xFFFD)));
}

void TestStudio::settingsPersistOnClose() {
    window_->selfExtendPanel()->setWindow(192);
    window_->selfExtendPanel()->setGroup(11);
    window_->comparePane()->setMaxNewTokens(33);
    window_->close();
    const QSettings settings;
    QCOMPARE(settings.value("group").toInt(), 11);
    QCOMPARE(settings.value("window").toInt(), 192);
    QCOMPARE(settings.value("maxNewTokens").toInt(), 33);
    QVERIFY(settings.value("document").toString().endsWith(".txt"));
    QCOMPARE(QFileInfo(settings.value("model").toString()), QFileInfo(model_));
    QVERIFY(!settings.value("geometry").toByteArray().isEmpty());
    window_->show();
}

void TestStudio::brokenModelShowsAnError() {
    QTemporaryFile broken(dir_.filePath("broken-XXXXXX.gguf"));
    QVERIFY(broken.open());
    broken.write("GGUF\x03\x00\x00\x00 this is not a model \x01\x02\x03");
    broken.close();
    QSignalSpy error(window_.get(), &studio::MainWindow::errorShown);
    window_->openModel(broken.fileName());
    QVERIFY(error.wait(10000));
    QVERIFY2(window_->lastError().contains("Could not load the model"),
             qPrintable(window_->lastError()));
    // A failed load keeps the working model: still loaded, still shown, still answering.
    QVERIFY(window_->hasModel());
    QVERIFY2(window_->lastError().contains("Still using"), qPrintable(window_->lastError()));
    QCOMPARE(QFileInfo(window_->modelPanel()->model().path), QFileInfo(model_));
    QVERIFY(window_->modelPanel()->memoryText().contains("weights"));
}

void TestStudio::cleanupTestCase() {
    window_.reset();
}

QTEST_MAIN(TestStudio)
#include "tst_studio.moc"
