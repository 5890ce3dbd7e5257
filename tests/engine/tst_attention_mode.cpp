// The capacity formula, the smallest-group rule and the rule of thumb, against the numbers in
// SELFEXTEND.md and direct computation.
#include <QtTest>

#include "selfextend/attention_mode.h"
#include "selfextend/error.h"

using namespace selfextend;

class TestAttentionMode : public QObject {
    Q_OBJECT
  private slots:
    void capacityMatchesThePaper() {
        QCOMPARE(capacity(4096, 5, 1024), int64_t(16384));  // Llama-2 example of SELFEXTEND.md
        QCOMPARE(capacity(512, 4, 256), int64_t(1280));     // demo model card
        QCOMPARE(capacity(512, 1, 100), int64_t(512));      // G = 1: the training window
    }

    void smallestGroupCoversAndIsMinimal() {
        for (int64_t L : {512, 4096})
            for (int W : {0, 64, 256, int(L / 2)})
                for (int64_t n : {int64_t(1), L, L + 1, 3 * L, 10 * L + 7}) {
                    const int g = smallest_group(L, W, n);
                    QVERIFY2(
                        capacity(L, g, W) >= n,
                        qPrintable(QString("L=%1 W=%2 n=%3 g=%4").arg(L).arg(W).arg(n).arg(g)));
                    if (g > 1) QVERIFY(capacity(L, g - 1, W) < n);
                }
        QCOMPARE(smallest_group(512, 256, 1952), 7);
        QCOMPARE(smallest_group(512, 256, 1040), 4);
        QVERIFY_THROWS_EXCEPTION(Error, smallest_group(512, 512, 2000));
    }

    void ruleOfThumb() {
        // W + (N - W) / G < 2/3 L
        QCOMPARE(largest_used_position(8, 128, 2048), 128 + 1920.0 / 8);
        QVERIFY(!rule_of_thumb_holds(512, 8, 128, 2048));   // 368 > 341.3
        QVERIFY(rule_of_thumb_holds(512, 16, 64, 2048));    // 188 < 341.3
        QVERIFY(!rule_of_thumb_holds(512, 4, 256, 1040));   // 452 > 341
        QVERIFY(rule_of_thumb_holds(4096, 4, 1024, 5144));  // 2054 < 2730
        QCOMPARE(largest_used_position(4, 1024, 500), 500.0);
    }

    void validation() {
        validate(AttentionMode::self_extend(8, 256), 512);
        validate(AttentionMode::self_extend(2, 512), 512);
        QVERIFY_THROWS_EXCEPTION(Error, validate(AttentionMode::self_extend(0, 10), 512));
        QVERIFY_THROWS_EXCEPTION(Error, validate(AttentionMode::self_extend(2, -1), 512));
        QVERIFY_THROWS_EXCEPTION(Error, validate(AttentionMode::self_extend(2, 513), 512));
        QVERIFY(AttentionMode::vanilla().is_vanilla());
        QCOMPARE(QString::fromStdString(AttentionMode::self_extend(8, 256).describe()),
                 QString("self-extend G=8 W=256"));
    }
};

QTEST_APPLESS_MAIN(TestAttentionMode)
#include "tst_attention_mode.moc"
