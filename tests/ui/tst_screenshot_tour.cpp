// The tour in pictures (tools/screenshot.sh --tour) on the bundled demo model and the door-code
// sample: it runs to its end and leaves one picture of the whole window per step, each showing
// something the ones before did not.
#include <QDir>
#include <QImage>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include "AnswerPane.h"
#include "ComparePane.h"
#include "MainWindow.h"
#include "ResourcePaths.h"
#include "ScreenshotTour.h"

using studio::MainWindow;
using studio::ScreenshotTour;

class TestScreenshotTour : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase() {
        QVERIFY(dir_.isValid());
        qputenv("XDG_DATA_HOME", dir_.filePath("data").toUtf8());
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, dir_.path());
        QCoreApplication::setOrganizationName("SelfExtendTests");
        QCoreApplication::setApplicationName("tst_screenshot_tour");
        QSettings().clear();
        QSettings().setValue("documentCache", false);
        QSettings().setValue("maxNewTokens", 12);
    }

    void tourWritesOnePicturePerStep() {
        const QString model = studio::findBundledModel();
        QVERIFY2(!model.isEmpty(), "the bundled demo model is missing");
        MainWindow window;
        window.show();
        window.start({model, {}, std::nullopt, std::nullopt, {}, {}});
        const QString folder = dir_.filePath("tour");
        ScreenshotTour tour(
            &window, {.folder = folder,
                      .documentPath = QString(SE_SOURCE_DIR) + "/resources/samples/door-code.txt",
                      // The follow-up asks the same: the demo model, asked "again", invents a
                      // number (at Auto's G = 4, W = 64), and the tour highlights a source of
                      // the last answer.
                      .questions = {"What is the door code?", "What is the door code?"},
                      .highlight = "door code is 4821",
                      .perplexityLengths = "256, 512, 1024"});  // the sample has 1 500 tokens
        QSignalSpy finished(&tour, &ScreenshotTour::finished);
        tour.begin();
        QVERIFY(finished.wait(240000));
        QVERIFY2(finished.first().at(0).toBool(), qPrintable(finished.first().at(1).toString()));

        // The follow-up was answered (its prompt outgrew the first question's cache, which
        // once left it no room for a single token).
        for (const studio::AnswerPane* pane :
             {window.comparePane()->vanillaPane(), window.comparePane()->selfExtendPane()}) {
            QCOMPARE(pane->turns().size(), 2);
            QVERIFY2(!pane->turns().last().answer.trimmed().isEmpty(),
                     qPrintable(pane->statusText()));
        }

        QList<QImage> pictures;
        for (const QString& name : ScreenshotTour::pictureNames()) {
            const QImage picture(QDir(folder).filePath(name));
            QVERIFY2(!picture.isNull(), qPrintable(name));
            // The first at the new user's window size, the rest maximised: the window now.
            const QSize size = window.size() * window.devicePixelRatio();
            if (pictures.isEmpty())
                QVERIFY(picture.width() <= size.width() && picture.height() <= size.height());
            else
                QCOMPARE(picture.size(), size);
            for (const QImage& before : pictures) QVERIFY2(picture != before, qPrintable(name));
            pictures << picture;
        }
    }

  private:
    QTemporaryDir dir_;
};

QTEST_MAIN(TestScreenshotTour)
#include "tst_screenshot_tour.moc"
