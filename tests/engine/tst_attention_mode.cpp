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

    // Numbers worked by hand: the smallest G = ceil((N - W) / (L - W)), capacity (L - W)·G + W;
    // Auto takes W = L/4 and twice that G (at most 64), W = L/8 when L/4 cannot fit.
    void autoTakesAQuarterWindowAndTwiceTheSmallestGroup() {
        // W = 128: ceil(1 517 / 384) = 4 (capacity 384·4 + 128 = 1 664 >= 1 645), so G = 8;
        // the farthest grouped position 128 + 1 517 / 8 = 317.6.
        const AutoChoice sample = choose_attention(512, 1645);
        QCOMPARE(sample.window, 128);
        QCOMPARE(sample.group, 8);
        QVERIFY(sample.fits);
        const QString why = QString::fromStdString(sample.explanation);
        for (const char* part : {"W = 128", "G = 8, twice", "(512 − 128)·4 + 128 = 1 664", "1 645",
                                 "position at 317 of L = 512", "docs/long-context.md"})
            QVERIFY2(why.contains(QString::fromUtf8(part)), qPrintable(why));

        // W = 128 needs ceil(19 872 / 384) = 52; twice is 104, so the largest allowed, 64.
        const AutoChoice book = choose_attention(512, 20000);
        QCOMPARE(book.window, 128);
        QCOMPARE(book.group, 64);
        QVERIFY(book.fits);
        QVERIFY2(QString::fromStdString(book.explanation).contains("G = 64, more than"),
                 book.explanation.c_str());
        // G = 64 only: the explanation says so when it is the smallest.
        const AutoChoice tight = choose_attention(512, 24704);  // 384·64 + 128
        QCOMPARE(tight.window, 128);
        QCOMPARE(tight.group, 64);
        QVERIFY2(QString::fromStdString(tight.explanation).contains("smallest group whose"),
                 tight.explanation.c_str());

        // One more token: W = 128 would need 65 > 64; W = L/8 = 64 needs ceil(24 641 / 448) = 55.
        const AutoChoice edge = choose_attention(512, 24705);
        QCOMPARE(edge.window, 64);
        QCOMPARE(edge.group, 64);
        QVERIFY(edge.fits);
        QVERIFY2(QString::fromStdString(edge.explanation).contains("would need G = 65"),
                 edge.explanation.c_str());
        QVERIFY(choose_attention(512, 28736).fits);  // 448·64 + 64

        // A Llama-2-sized window: W = 1 024, ceil(15 360 / 3 072) = 5, G = 10.
        QCOMPARE(choose_attention(4096, 16384).window, 1024);
        QCOMPARE(choose_attention(4096, 16384).group, 10);
        // SmolLM2 (L = 8 192) at the map's lengths: W = 2 048 and G = 2·2 = 4 at 12k, 2·3 = 6 at
        // 16k.
        QCOMPARE(choose_attention(8192, 12032).window, 2048);
        QCOMPARE(choose_attention(8192, 12032).group, 4);
        QCOMPARE(choose_attention(8192, 16032).group, 6);
        // L = 1 000: L/4 = 250 rounds down to 240; ceil(4 760 / 760) = 7, G = 14.
        QCOMPARE(choose_attention(1000, 5000).window, 240);
        QCOMPARE(choose_attention(1000, 5000).group, 14);
        // L = 100: 25 -> 16; ceil(2 984 / 84) = 36, twice past 64: G = 64.
        QCOMPARE(choose_attention(100, 3000).window, 16);
        QCOMPARE(choose_attention(100, 3000).group, 64);
        // Inside the window: no extension.
        QCOMPARE(choose_attention(512, 400).group, 1);
        QCOMPARE(choose_attention(512, 400).window, 128);
        QVERIFY(choose_attention(512, 400).fits);
    }

    void autoSaysWhatItWouldTakeWhenNothingFits() {
        // 204 000 tokens at L = 512: more than 28 736. At W = 64 it would take
        // ceil(203 936 / 448) = 456; a model with W = L/4 (rounded down), G = 64 needs
        // (L - L/4)·64 + L/4 >= 204 000: L = 4 227 gives 3 171·64 + 1 056 = 204 000 (4 226 gives
        // 3 170·64 + 1 056 = 203 936).
        const AutoChoice book = choose_attention(512, 204000);
        QVERIFY(!book.fits);
        QCOMPARE(book.group, 64);
        QCOMPARE(book.window, 64);
        const QString why = QString::fromStdString(book.explanation);
        for (const char* part : {"Cannot fit", "28 736", "4 227", "G = 456"})
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
