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

    // Numbers worked by hand: G = ceil((N - W) / (L - W)), capacity (L - W)·G + W.
    void autoChoosesTheLargestWindowWhoseGroupIsAllowed() {
        // W = L/2 = 256: ceil(1389 / 256) = 6; capacity 256·6 + 256 = 1 792 >= 1 645 > 1 536.
        const AutoChoice sample = choose_attention(512, 1645);
        QCOMPARE(sample.window, 256);
        QCOMPARE(sample.group, 6);
        QVERIFY(sample.fits);
        const QString why = QString::fromStdString(sample.explanation);
        for (const char* part : {"W = 256", "G = 6", "(512 − 256)·6 + 256 = 1 792", "1 645"})
            QVERIFY2(why.contains(QString::fromUtf8(part)), qPrintable(why));

        // W = 256 would need ceil(19 744 / 256) = 78 > 64; W = 3L/8 = 192 needs
        // ceil(19 808 / 320) = 62, capacity 320·62 + 192 = 20 032.
        const AutoChoice book = choose_attention(512, 20000);
        QCOMPARE(book.window, 192);
        QCOMPARE(book.group, 62);
        QVERIFY(book.fits);
        QVERIFY2(QString::fromStdString(book.explanation).contains("would need G = 78"),
                 book.explanation.c_str());

        // The largest capacity within G <= 64 at L = 512 is W = 64: 448·64 + 64 = 28 736.
        const AutoChoice edge = choose_attention(512, 28736);
        QCOMPARE(edge.window, 64);
        QCOMPARE(edge.group, 64);
        QVERIFY(edge.fits);

        QCOMPARE(choose_attention(4096, 16384).window, 2048);  // ceil(14 336 / 2 048) = 7
        QCOMPARE(choose_attention(4096, 16384).group, 7);
        // L = 1 000: L/2 = 500 rounds down to 496; ceil(4 504 / 504) = 9.
        QCOMPARE(choose_attention(1000, 5000).window, 496);
        QCOMPARE(choose_attention(1000, 5000).group, 9);
        // L = 100: 50 -> 48; ceil(2 952 / 52) = 57.
        QCOMPARE(choose_attention(100, 3000).window, 48);
        QCOMPARE(choose_attention(100, 3000).group, 57);
        // Inside the window: no extension.
        QCOMPARE(choose_attention(512, 400).group, 1);
        QVERIFY(choose_attention(512, 400).fits);
    }

    void autoSaysWhatItWouldTakeWhenNothingFits() {
        // 204 000 tokens at L = 512: more than 28 736. At W = 64 it would take
        // ceil(203 936 / 448) = 456; a model with W = L/2, G = 64 needs (L/2)·65 >= 204 000 with
        // (L - L/2)·64 + L/2 for odd L: L = 6 277 gives 3 139·64 + 3 138 = 204 034 (6 276 gives
        // 203 970).
        const AutoChoice book = choose_attention(512, 204000);
        QVERIFY(!book.fits);
        QCOMPARE(book.group, 64);
        QCOMPARE(book.window, 64);
        const QString why = QString::fromStdString(book.explanation);
        for (const char* part : {"Cannot fit", "28 736", "6 277", "G = 456"})
            QVERIFY2(why.contains(part), qPrintable(why));
        QVERIFY(!choose_attention(512, 28737).fits);
    }

    void choosingGroupForAGivenWindow() {
        const AutoChoice kept = choose_group(512, 128, 2000);  // ceil(1 872 / 384) = 5
        QCOMPARE(kept.group, 5);
        QCOMPARE(kept.window, 128);
        QVERIFY(kept.fits);
        // W = 511 leaves one grouped position per G: ceil(1 489 / 1) = 1 489, far past 64.
        const AutoChoice narrow = choose_group(512, 511, 2000);
        QVERIFY(!narrow.fits);
        QVERIFY2(QString::fromStdString(narrow.explanation).contains("1 489"),
                 narrow.explanation.c_str());
        QVERIFY(!choose_group(512, 512, 2000).fits);  // W = L extends nothing
        QCOMPARE(choose_group(512, 512, 300).group, 1);
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
