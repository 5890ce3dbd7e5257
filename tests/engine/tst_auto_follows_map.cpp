// Auto (choose_attention) against the measured map of G and W on SmolLM2 (docs/long-context.md,
// docs/long-context/smollm2.jsonl, made by tools/long-context/map.py): at every length and task
// the map has complete, Auto's cell states at least as many facts and finds at least as many pass
// keys as the best cell, less one trial. The rule before it (the smallest G at W = L/2) does not:
// the check can fail.
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>
#include <map>
#include <tuple>

#include "selfextend/attention_mode.h"

using namespace selfextend;

namespace {

constexpr int64_t kSmolLM2Window = 8192;  // L of SmolLM2-135M
constexpr int64_t kAnswerTokens = 32;     // what the map's questions leave for the answer

struct Tally {
    int found = 0;
    int tried = 0;
};
// (task, length) -> (G, W) -> tally; vanilla is G = 1.
using Map = std::map<std::pair<QString, int64_t>, std::map<std::pair<int, int>, Tally>>;

Map read_map() {
    QFile file(QStringLiteral(SE_SOURCE_DIR "/docs/long-context/smollm2.jsonl"));
    if (!file.open(QIODevice::ReadOnly)) return {};
    Map map;
    for (const QByteArray& line : file.readAll().split('\n')) {
        if (line.trimmed().isEmpty()) continue;
        const QJsonObject r = QJsonDocument::fromJson(line).object();
        if (r["set"].toString() != "A" || r["auto"].toBool()) continue;
        Tally& t = map[{r["task"].toString(), r["length"].toInteger()}]
                      [{r["group"].toInt(), r["window"].toInt()}];
        t.found += r["found"].toBool();
        ++t.tried;
    }
    return map;
}

// The lengths and tasks the map has run to their end: six documents of three facts, or three
// pass-key depths, in every cell (tools/long-context/map.py).
bool complete(const QString& task, const std::map<std::pair<int, int>, Tally>& cells) {
    const int trials = task == "fact" ? 6 * 3 : 3;
    if (cells.size() < 10) return false;
    for (const auto& [cell, tally] : cells)
        if (tally.tried != trials) return false;
    return true;
}

}  // namespace

class TestAutoFollowsMap : public QObject {
    Q_OBJECT
  private slots:
    void autoIsWithinOneTrialOfTheBestCell() {
        const Map map = read_map();
        QVERIFY2(!map.empty(), "docs/long-context/smollm2.jsonl is missing");
        int checked = 0;
        bool oldRuleFails = false;
        for (const auto& [key, cells] : map) {
            const auto& [task, length] = key;
            if (!complete(task, cells)) continue;
            const AutoChoice automatic = choose_attention(kSmolLM2Window, length + kAnswerTokens);
            QVERIFY(automatic.fits);
            int best = 0;
            for (const auto& [cell, tally] : cells) best = std::max(best, tally.found);
            const auto found = [&](int group, int window) {
                const auto it = cells.find({group, window});
                return it == cells.end() ? -1 : it->second.found;
            };
            const int autoFound = found(automatic.group, automatic.window);
            qInfo("%s at %lld tokens: Auto G=%d W=%d %d, best %d of %d", qPrintable(task),
                  (long long)length, automatic.group, automatic.window, autoFound, best,
                  cells.begin()->second.tried);
            QVERIFY2(autoFound >= 0, "Auto's cell is not in the map");
            QVERIFY2(autoFound >= best - 1, qPrintable(QString("%1 at %2: Auto %3, best %4")
                                                           .arg(task)
                                                           .arg(length)
                                                           .arg(autoFound)
                                                           .arg(best)));
            // The rule before: W = L/2 and the smallest G that fits.
            const int oldWindow = int(kSmolLM2Window / 2);
            const int oldFound =
                found(smallest_group(kSmolLM2Window, oldWindow, length + kAnswerTokens), oldWindow);
            if (oldFound >= 0 && oldFound < best - 1) oldRuleFails = true;
            ++checked;
        }
        // Both tasks at 12 000 tokens at least (16 000 once its grid is complete).
        QVERIFY2(checked >= 2, qPrintable(QString::number(checked)));
        QVERIFY(oldRuleFails);
    }
};

QTEST_GUILESS_MAIN(TestAutoFollowsMap)
#include "tst_auto_follows_map.moc"
