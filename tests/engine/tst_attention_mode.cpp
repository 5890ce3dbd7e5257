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
    // Auto takes W = L/8 and that G (at most 64), W = L/16 when L/8 cannot fit.
    void autoTakesAnEighthWindowAndTheSmallestGroup() {
        // W = 64: ceil(1 581 / 448) = 4, capacity 448·4 + 64 = 1 856 >= 1 645.
        const AutoChoice sample = choose_attention({512}, 1645);
        QCOMPARE(sample.window, 64);
        QCOMPARE(sample.group, 4);
        QVERIFY(sample.fits);
        const QString why = QString::fromStdString(sample.explanation);
        for (const char* part :
             {"W = 64", "G = 4", "(512 − 64)·4 + 64 = 1 856", "1 645", "docs/long-context.md"})
            QVERIFY2(why.contains(QString::fromUtf8(part)), qPrintable(why));

        // W = 64: ceil(19 936 / 448) = 45.
        const AutoChoice book = choose_attention({512}, 20000);
        QCOMPARE(book.window, 64);
        QCOMPARE(book.group, 45);
        QVERIFY(book.fits);
        QVERIFY(choose_attention({512}, 28736).fits);  // 448·64 + 64, still W = 64
        QCOMPARE(choose_attention({512}, 28736).window, 64);

        // One more token: W = 64 would need 65 > 64; W = L/16 = 32 needs ceil(28 705 / 480) = 60.
        const AutoChoice edge = choose_attention({512}, 28737);
        QCOMPARE(edge.window, 32);
        QCOMPARE(edge.group, 60);
        QVERIFY(edge.fits);
        QVERIFY2(QString::fromStdString(edge.explanation).contains("would need G = 65"),
                 edge.explanation.c_str());

        // A Llama-2-sized window: W = 512, ceil(15 872 / 3 584) = 5.
        QCOMPARE(choose_attention({4096}, 16384).window, 512);
        QCOMPARE(choose_attention({4096}, 16384).group, 5);
        // SmolLM2 (L = 8 192) at the map's lengths: W = 1 024 and G = 2 at 12k, 3 at 16k.
        QCOMPARE(choose_attention({8192}, 12032).window, 1024);
        QCOMPARE(choose_attention({8192}, 12032).group, 2);
        QCOMPARE(choose_attention({8192}, 16032).group, 3);
        // L = 1 000: L/8 = 125 rounds down to 112; ceil(4 888 / 888) = 6.
        QCOMPARE(choose_attention({1000}, 5000).window, 112);
        QCOMPARE(choose_attention({1000}, 5000).group, 6);
        // L = 100: 12 (below 16, kept); ceil(2 988 / 88) = 34.
        QCOMPARE(choose_attention({100}, 3000).window, 12);
        QCOMPARE(choose_attention({100}, 3000).group, 34);
        // Inside the window: no extension.
        QCOMPARE(choose_attention({512}, 400).group, 1);
        QCOMPARE(choose_attention({512}, 400).window, 64);
        QVERIFY(choose_attention({512}, 400).fits);
    }

    // A family that retrieves best from the lower two thirds of L (Gemma 3): Auto takes as many
    // groups as keep W + (N - W)/G within floor(2/3 L), numbers worked by hand.
    void autoKeepsPositionsWithinTheTrustedShare() {
        const AutoProfile gemma3{32768, 2.0 / 3.0};
        QCOMPARE(gemma3.limit(), int64_t(21845));  // 21 845.3
        // 40 032 tokens, W = 4 096: the capacity needs ceil(35 936 / 28 672) = 2, which would use
        // positions up to 4 096 + 17 968 = 22 064; ceil(35 936 / 17 749) = 3 keeps them to
        // 4 096 + 11 978.7.
        const AutoChoice book = choose_attention(gemma3, 40032);
        QCOMPARE(book.window, 4096);
        QCOMPARE(book.group, 3);
        QVERIFY(book.fits);
        const QString why = QString::fromStdString(book.explanation);
        for (const char* part :
             {"G = 3", "4 096 + 35 936/3 = 16 074", "67 % of L (21 845)",
              "G = 2 would hold the 40 032 tokens ((32 768 − 4 096)·2 + 4 096 = 61 440) but use "
              "positions up to 22 064"})
            QVERIFY2(why.contains(QString::fromUtf8(part)), qPrintable(why));
        // 33 000 tokens: G = 2 already keeps 4 096 + 14 452 = 18 548 within the share.
        QCOMPARE(choose_attention(gemma3, 33000).group, 2);
        QVERIFY(QString::fromStdString(choose_attention(gemma3, 33000).explanation)
                    .contains("smallest group whose capacity"));
        // Inside L, no grouping whatever the share.
        QCOMPARE(choose_attention(gemma3, 30000).group, 1);
        // Share 1 is the smallest fitting G.
        QCOMPARE(choose_attention({32768, 1.0}, 40032).group, 2);

        // The share would take more than the largest G, the capacity does not: G = 64. L = 512,
        // W = 64, limit 341: the capacity needs ceil(19 936 / 448) = 45, the share
        // ceil(19 936 / 277) = 72.
        const AutoChoice coarse = choose_attention({512, 2.0 / 3.0}, 20000);
        QCOMPARE(coarse.group, 64);
        QCOMPARE(coarse.window, 64);
        QVERIFY(coarse.fits);
        QVERIFY2(QString::fromStdString(coarse.explanation).contains("would take G = 72"),
                 coarse.explanation.c_str());
    }

    void autoSaysWhatItWouldTakeWhenNothingFits() {
        // 204 000 tokens at L = 512: more than 30 752 (W = 32, G = 64). At W = 32 it would take
        // ceil(203 968 / 480) = 425; a model whose Auto window is W = L/8 rounded down to a
        // multiple of 16, at G = 64, needs (L - W)·64 + W >= 204 000: L = 3 629 (W = 448) gives
        // 3 181·64 + 448 = 204 032 (3 628 gives 3 180·64 + 448 = 203 968).
        const AutoChoice book = choose_attention({512}, 204000);
        QVERIFY(!book.fits);
        QCOMPARE(book.group, 64);
        QCOMPARE(book.window, 32);
        const QString why = QString::fromStdString(book.explanation);
        for (const char* part : {"Cannot fit", "30 752", "3 629", "G = 425"})
            QVERIFY2(why.contains(part), qPrintable(why));
        QVERIFY(!choose_attention({512}, 30753).fits);
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
