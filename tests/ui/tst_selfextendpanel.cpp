// The Self-Extend panel on its own: capacity text, fit verdict, rule of thumb and Auto.
#include <QLabel>
#include <QSlider>
#include <QSpinBox>
#include <QTest>

#include "Format.h"
#include "PositionPlot.h"
#include "SelfExtendPanel.h"

using studio::formatCount;

class TestSelfExtendPanel : public QObject {
    Q_OBJECT

  private slots:
    void capacityFollowsTheSpinBoxes() {
        studio::SelfExtendPanel panel;
        panel.setAutoProfile({512});
        auto* group = panel.findChild<QSpinBox*>("groupSpin");
        auto* window = panel.findChild<QSpinBox*>("windowSpin");
        QVERIFY(group && window);
        window->setValue(256);
        group->setValue(8);
        QCOMPARE(panel.capacity(), 2304);
        QVERIFY2(panel.capacityText().contains(formatCount(2304)),
                 qPrintable(panel.capacityText()));
        QVERIFY(panel.capacityText().contains("(512 − 256)·8 + 256"));
        QCOMPARE(window->maximum(), 512);
    }

    void fitVerdictAndAuto() {
        studio::SelfExtendPanel panel;
        panel.setAutoProfile({512});
        panel.setAnswerReserve(32);
        panel.setWindow(256);
        panel.setGroup(2);              // capacity 768
        panel.setDocumentTokens(1936);  // + 32 question + 32 answer = 2000
        QCOMPARE(panel.requiredTokens(), 2000);
        QVERIFY(!panel.fits());
        QVERIFY2(panel.fitText().contains("Does not fit"), qPrintable(panel.fitText()));
        QVERIFY(panel.fitText().contains(formatCount(2000 - 768)));
        panel.autoPick();  // W = L/8 = 64, ceil((2000 - 64) / 448) = 5
        QCOMPARE(panel.group(), 5);
        QCOMPARE(panel.window(), 64);
        QVERIFY(panel.fits());
        QVERIFY2(panel.fitText().contains("Fits"), qPrintable(panel.fitText()));
        // 64 + (2000 - 64) / 5 = 451 > 341: the rule of thumb is exceeded at this G.
        QVERIFY2(panel.ruleText().contains("exceeded"), qPrintable(panel.ruleText()));
        panel.setGroup(32);  // 64 + 1936 / 32 = 124.5 < 341
        QVERIFY2(panel.ruleText().contains("holds"), qPrintable(panel.ruleText()));
    }

    void autoChoosesGAndWTogether() {
        // Issue 12, defect 6: at W = 511 the old Auto kept W and clamped G to 64 (capacity 575,
        // still "Does not fit"). Auto now chooses W too: W = 64, G = ceil(1 936 / 448) = 5.
        studio::SelfExtendPanel panel;
        panel.setAutoProfile({512});
        panel.setAnswerReserve(32);
        panel.setWindow(511);
        panel.setGroup(64);
        panel.setDocumentTokens(1936);  // 2 000 needed
        QVERIFY(!panel.fits());
        // The advice can be followed: G is at its maximum, so "raise G" would be wrong.
        QVERIFY2(!panel.fitText().contains("Raise G"), qPrintable(panel.fitText()));
        QVERIFY2(panel.fitText().contains("Press Auto: G = 5, W = 64"),
                 qPrintable(panel.fitText()));
        panel.autoPick();
        QCOMPARE(panel.window(), 64);
        QCOMPARE(panel.group(), 5);
        QVERIFY(panel.fits());
        // One line of reason (capacity 448·5 + 64 = 2 304), its numbers in the locale's grouping
        // like the rest of the panel.
        QVERIFY2(panel.autoText().contains(formatCount(2304)) &&
                     panel.autoText().contains(formatCount(2000)),
                 qPrintable(panel.autoText()));

        // 20 000 tokens: W = 64 with G = ceil(19 936 / 448) = 45.
        panel.setDocumentTokens(20000 - 64);
        panel.autoPick();
        QCOMPARE(panel.window(), 64);
        QCOMPARE(panel.group(), 45);
        // 30 000: W = 64 would need G = 67 > 64; W = L/16 = 32 takes ceil(29 968 / 480) = 63.
        panel.setDocumentTokens(30000 - 64);
        panel.autoPick();
        QCOMPARE(panel.window(), 32);
        QCOMPARE(panel.group(), 63);
        QVERIFY2(panel.autoText().contains("would need G = 67"), qPrintable(panel.autoText()));
    }

    void userTouchesPinAndDocumentsFollowOtherwise() {
        studio::SelfExtendPanel panel;
        panel.setAutoProfile({512});
        panel.setAnswerReserve(0);
        panel.setGroup(2);  // programmatic (restored settings): no pin
        panel.setWindow(100);
        QVERIFY(!panel.groupPinned() && !panel.windowPinned());
        panel.setDocumentTokens(2000 - 32);
        panel.fitDocument();
        QCOMPARE(panel.window(), 64);
        QCOMPARE(panel.group(), 5);
        QVERIFY2(panel.autoText().startsWith("Auto: W = 64"), qPrintable(panel.autoText()));
        panel.setGroup(6);  // set by the program, not Auto: the reason no longer applies
        QVERIFY2(panel.autoText().contains("Press Auto"), qPrintable(panel.autoText()));
        panel.fitDocument();

        // The user moves the W slider: W is pinned, G still follows the document for that W.
        panel.findChild<QSlider*>("windowSlider")->setValue(192);
        QVERIFY(panel.windowPinned() && !panel.groupPinned());
        panel.setDocumentTokens(4000 - 32);
        panel.fitDocument();
        QCOMPARE(panel.window(), 192);
        QCOMPARE(panel.group(), 12);  // the smallest for the user's W: ceil((4 000 - 192) / 320)

        // The user types a G: both stay.
        panel.findChild<QSpinBox*>("groupSpin")->setValue(5);
        panel.setDocumentTokens(8000 - 32);
        panel.fitDocument();
        QCOMPARE(panel.group(), 5);
        QCOMPARE(panel.window(), 192);
        QVERIFY(!panel.fits());

        // Auto unpins.
        panel.autoPick();
        QVERIFY(!panel.groupPinned() && !panel.windowPinned());
        QVERIFY(panel.fits());
    }

    void autoUsesAnEighthOfTheWindowWhenWIsZero() {
        studio::SelfExtendPanel panel;
        panel.setAutoProfile({512});
        panel.setAnswerReserve(0);
        panel.setWindow(0);
        panel.setDocumentTokens(4000 - 32);
        panel.autoPick();
        QCOMPARE(panel.window(), 64);
        QCOMPARE(panel.group(), 9);  // ceil((4000 - 64) / 448)
    }

    void requestedWindowSurvivesASmallerModel() {
        studio::SelfExtendPanel panel;
        panel.setAutoProfile({512});
        panel.setWindow(1024);  // a saved setting, restored before the model is known
        QCOMPARE(panel.window(), 512);
        panel.setAutoProfile({4096});
        QCOMPARE(panel.window(), 1024);
    }

    void plotPaintsAtAnySize() {
        studio::PositionPlot plot;
        plot.setParameters(512, 8, 128, 3000);
        for (const QSize size : {QSize(40, 30), QSize(300, 200), QSize(900, 500)}) {
            plot.resize(size);
            QVERIFY(!plot.grab().isNull());
        }
    }
};

QTEST_MAIN(TestSelfExtendPanel)
#include "tst_selfextendpanel.moc"
