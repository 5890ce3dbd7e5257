// The prefill's time estimate against prompts whose chunk times follow a known cost per token,
// a + b·position, computed directly here.
#include <QtTest>
#include <cmath>
#include <random>

#include "progress/prefill_eta.h"

using selfextend::PrefillEta;

namespace {

// The seconds a chunk [first, end) takes at a per-token cost a and per-key cost b, summed token
// by token.
double true_seconds(double a, double b, int64_t first, int64_t end) {
    double seconds = 0;
    for (int64_t p = first; p < end; ++p) seconds += a + b * double(p);
    return seconds;
}

}  // namespace

class TestPrefillEta : public QObject {
    Q_OBJECT
  private slots:
    void fitsTheCostThatGrowsWithPosition() {
        // 40 960 tokens in chunks of 512; attention dominates late (b·p = 4e-4 s at the end vs
        // a = 1e-4 s).
        const double a = 1e-4, b = 1e-8;
        const int64_t n = 40960, chunk = 512;
        PrefillEta eta;
        double elapsed = 0;
        for (int64_t done = 0; done < n / 4; done += chunk) {
            const double seconds = true_seconds(a, b, done, done + chunk);
            eta.record(done, done + chunk, seconds);
            elapsed += seconds;
        }
        const int64_t done = n / 4;
        const double truth = true_seconds(a, b, done, n);
        QVERIFY(std::abs(eta.remaining_seconds(done, n) - truth) < 1e-6 * truth);
        QVERIFY(std::abs(eta.per_token_seconds() - a) < 1e-6 * a);
        QVERIFY(std::abs(eta.per_key_seconds() - b) < 1e-6 * b);
        // The rate so far underestimates the rest by far more than the fit's error: this test
        // tells the two apart.
        const double by_rate = elapsed / double(done) * double(n - done);
        qInfo("remaining: true %.2f s, fitted %.2f s, by the rate so far %.2f s", truth,
              eta.remaining_seconds(done, n), by_rate);
        QVERIFY(by_rate < 0.7 * truth);
    }

    void noisyTimingsStayClose() {
        const double a = 2e-4, b = 5e-9;
        const int64_t n = 32768, chunk = 256;
        std::mt19937 rng(7);
        std::uniform_real_distribution<double> noise(0.9, 1.1);
        PrefillEta eta;
        for (int64_t done = 0; done < n / 2; done += chunk)
            eta.record(done, done + chunk, true_seconds(a, b, done, done + chunk) * noise(rng));
        const double truth = true_seconds(a, b, n / 2, n);
        const double estimate = eta.remaining_seconds(n / 2, n);
        QVERIFY2(std::abs(estimate - truth) < 0.05 * truth,
                 qPrintable(QString("estimate %1 s, true %2 s").arg(estimate).arg(truth)));
    }

    void theEstimateFallsAsThePrefillAdvances() {
        // What the user watches: after each chunk the ETA is the true remaining time, so it
        // falls chunk by chunk instead of growing with the slower late chunks.
        const double a = 1e-4, b = 2e-8;
        const int64_t n = 16384, chunk = 512;
        PrefillEta eta;
        double previous = 1e300;
        for (int64_t done = 0; done < n; done += chunk) {
            eta.record(done, done + chunk, true_seconds(a, b, done, done + chunk));
            const double remaining = eta.remaining_seconds(done + chunk, n);
            if (done >= 2 * chunk) {
                QVERIFY(remaining < previous);
                const double truth = true_seconds(a, b, done + chunk, n);
                QVERIFY(std::abs(remaining - truth) <= 1e-6 * truth + 1e-12);
            }
            previous = remaining;
        }
    }

    // Issue 22.11: the machine gets busier half-way (every later chunk takes 1.5 times as long):
    // the fit of all chunks stays optimistic, the range's upper end covers the real rest. With
    // steady timings the range is one time.
    void aBusierMachineWidensTheRange() {
        const double a = 1e-4, b = 1e-8;
        const int64_t n = 32768, chunk = 512;
        PrefillEta steady;
        for (int64_t done = 0; done < n / 2; done += chunk)
            steady.record(done, done + chunk, true_seconds(a, b, done, done + chunk));
        const auto [low, high] = steady.remaining_range(n / 2, n);
        QVERIFY(std::abs(high - low) <= 1e-6 * high);

        PrefillEta busy;
        const int64_t slows_at = n / 2 - 4 * chunk;
        for (int64_t done = 0; done < n / 2; done += chunk)
            busy.record(done, done + chunk,
                        true_seconds(a, b, done, done + chunk) * (done >= slows_at ? 1.5 : 1.0));
        const double truth = 1.5 * true_seconds(a, b, n / 2, n);
        const double estimate = busy.remaining_seconds(n / 2, n);
        const auto [from, to] = busy.remaining_range(n / 2, n);
        qInfo("rest after the slowdown: true %.2f s, estimate %.2f s, range %.2f-%.2f s", truth,
              estimate, from, to);
        QVERIFY(estimate < 0.9 * truth);  // the single time would mislead
        QCOMPARE(from, estimate);
        QVERIFY(to >= 0.95 * truth && to <= 1.3 * truth);
    }

    void oneChunkUsesTheRate() {
        // A single chunk cannot separate the two costs: the time per token so far is used.
        PrefillEta eta;
        QCOMPARE(eta.remaining_seconds(0, 100), 0.0);
        eta.record(0, 100, 2.0);
        QVERIFY(std::abs(eta.remaining_seconds(100, 300) - 4.0) < 1e-9);
        QCOMPARE(eta.remaining_seconds(300, 300), 0.0);
    }

    void negativeFitsFallBack() {
        // Later chunks faster than earlier ones (warm-up): no negative per-key cost.
        PrefillEta eta;
        eta.record(0, 100, 3.0);
        eta.record(100, 200, 1.0);
        QVERIFY(eta.per_key_seconds() >= 0);
        QVERIFY(eta.per_token_seconds() >= 0);
        QVERIFY(eta.remaining_seconds(200, 300) > 0);
    }
};

QTEST_APPLESS_MAIN(TestPrefillEta)
#include "tst_prefill_eta.moc"
