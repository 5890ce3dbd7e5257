// The Self-Extend panel on its own: capacity text, fit verdict, rule of thumb and Auto.
#include <QLabel>
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
        panel.setTrainingWindow(512);
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
        panel.setTrainingWindow(512);
        panel.setAnswerReserve(32);
        panel.setWindow(256);
        panel.setGroup(2);              // capacity 768
        panel.setDocumentTokens(1936);  // + 32 question + 32 answer = 2000
        QCOMPARE(panel.requiredTokens(), 2000);
        QVERIFY(!panel.fits());
        QVERIFY2(panel.fitText().contains("Does not fit"), qPrintable(panel.fitText()));
        QVERIFY(panel.fitText().contains(formatCount(2000 - 768)));
        panel.autoPick();  // ceil((2000 - 256) / 256) = 7
        QCOMPARE(panel.group(), 7);
        QCOMPARE(panel.window(), 256);
        QVERIFY(panel.fits());
        QVERIFY2(panel.fitText().contains("Fits"), qPrintable(panel.fitText()));
        // 256 + (2000 - 256) / 7 = 505 > 341: the rule of thumb is exceeded at this G.
        QVERIFY2(panel.ruleText().contains("exceeded"), qPrintable(panel.ruleText()));
        panel.setGroup(32);  // 256 + 1744 / 32 = 310 < 341
        QVERIFY2(panel.ruleText().contains("holds"), qPrintable(panel.ruleText()));
    }

    void autoUsesHalfTheWindowWhenWIsZero() {
        studio::SelfExtendPanel panel;
        panel.setTrainingWindow(512);
        panel.setAnswerReserve(0);
        panel.setWindow(0);
        panel.setDocumentTokens(4000 - 32);
        panel.autoPick();
        QCOMPARE(panel.window(), 256);
        QCOMPARE(panel.group(), 15);  // ceil((4000 - 256) / 256)
    }

    void requestedWindowSurvivesASmallerModel() {
        studio::SelfExtendPanel panel;
        panel.setTrainingWindow(512);
        panel.setWindow(1024);  // a saved setting, restored before the model is known
        QCOMPARE(panel.window(), 512);
        panel.setTrainingWindow(4096);
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
