// Auto (choose_attention) against the measured map of G and W (docs/long-context.md, made by
// tools/long-context/map.py): on every trial Auto's cell and another cell both ran, Auto states at
// least as many facts and finds at least as many pass keys as that cell, less one trial, at every
// length and task the map has run Auto's cell to the end. SmolLM2 (share 1) on set A at 12 000 and
// 16 000 tokens and on a third set of books (set C, chosen after the rule) at 12 000, Gemma 3
// (share 2/3) at 40 000. On set B Auto is not within one (3 facts of 18 where W = L/2 states 8):
// docs/long-context.md says so and why the rule stays. The rules before fail the same check on each
// model (the smallest G at W = L/2 on SmolLM2; share 1 on Gemma 3): the check can fail.
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>
#include <map>
#include <tuple>

#include "model/family.h"
#include "selfextend/attention_mode.h"

using namespace selfextend;

namespace {

constexpr int64_t kAnswerTokens = 32;  // what the map's questions leave for the answer

// (G, W) -> trial -> found; vanilla is G = 1.
using Cells = std::map<std::pair<int, int>, std::map<QString, bool>>;
// (task, length) -> cells.
using Map = std::map<std::pair<QString, int64_t>, Cells>;

Map read_map(const QString& file, const QString& set) {
    QFile in(QStringLiteral(SE_SOURCE_DIR "/docs/long-context/") + file);
    if (!in.open(QIODevice::ReadOnly)) return {};
    Map map;
    for (const QByteArray& line : in.readAll().split('\n')) {
        if (line.trimmed().isEmpty()) continue;
        const QJsonObject r = QJsonDocument::fromJson(line).object();
        if (r["set"].toString() != set) continue;
        // Auto's rows count as their G and W's (a trial run twice keeps its first answer).
        map[{r["task"].toString(), r["length"].toInteger()}]
           [{r["group"].toInt(), r["window"].toInt()}]
               .emplace(r["trial"].toString(), r["found"].toBool());
    }
    return map;
}

struct Comparison {
    int chosen = 0;  // found by the rule's cell on the shared trials
    int other = 0;   // found by the other cell on them
    int trials = 0;
};

Comparison compare(const std::map<QString, bool>& chosen, const std::map<QString, bool>& other) {
    Comparison c;
    for (const auto& [trial, found] : other) {
        const auto it = chosen.find(trial);
        if (it == chosen.end()) continue;
        c.chosen += it->second;
        c.other += found;
        ++c.trials;
    }
    return c;
}

// The rule's cell against every other cell at each (task, length) where the rule's cell ran all
// its trials (six documents of three facts, or three pass-key depths): the cells where it is more
// than one trial behind, as "task at N: G=2 W=4096 5 vs G=3 W=4096 7 of 9", and how many lengths
// and tasks were checked.
template <typename Rule>
std::pair<QStringList, int> behind(const Map& map, Rule rule) {
    QStringList behind;
    int checked = 0;
    for (const auto& [key, cells] : map) {
        const auto& [task, length] = key;
        const AttentionMode mode = rule(length + kAnswerTokens);
        const auto mine = cells.find({mode.group, mode.window});
        if (mine == cells.end() || int(mine->second.size()) < (task == "fact" ? 18 : 3)) continue;
        ++checked;
        for (const auto& [cell, trials] : cells) {
            const Comparison c = compare(mine->second, trials);
            qInfo("%s at %lld: G=%d W=%d %d vs G=%d W=%d %d of %d", qPrintable(task),
                  (long long)length, mode.group, mode.window, c.chosen, cell.first, cell.second,
                  c.other, c.trials);
            if (c.chosen < c.other - 1)
                behind << QString("%1 at %2: G=%3 W=%4 %5 vs G=%6 W=%7 %8 of %9")
                              .arg(task)
                              .arg(length)
                              .arg(mode.group)
                              .arg(mode.window)
                              .arg(c.chosen)
                              .arg(cell.first)
                              .arg(cell.second)
                              .arg(c.other)
                              .arg(c.trials);
        }
    }
    return {behind, checked};
}

AttentionMode automatic(const AutoProfile& profile, int64_t needed) {
    const AutoChoice choice = choose_attention(profile, needed);
    return AttentionMode::self_extend(choice.group, choice.window);
}

}  // namespace

class TestAutoFollowsMap : public QObject {
    Q_OBJECT
  private slots:
    void autoIsWithinOneTrialOfEveryCell_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("set");           // the documents: A (the map's), C (a check)
        QTest::addColumn<QString>("architecture");  // whose family entry Auto's profile comes from
        QTest::addColumn<qint64>("trainingWindow");
        QTest::addColumn<int>("lengthsAndTasks");  // what the map has run Auto's cell through
        // SmolLM2-135M: L = 8 192; both tasks at 12k and 16k.
        QTest::newRow("SmolLM2, set A") << "smollm2.jsonl"
                                        << "A"
                                        << "llama" << qint64(8192) << 4;
        // The same rule on a third set of books, the whole grid, the fact task at 12k.
        QTest::newRow("SmolLM2, set C") << "smollm2-c.jsonl"
                                        << "C"
                                        << "llama" << qint64(8192) << 1;
        // Gemma 3 270M: L = 32 768; the fact task at 40k.
        QTest::newRow("Gemma 3") << "gemma3.jsonl"
                                 << "A"
                                 << "gemma3" << qint64(32768) << 1;
    }
    void autoIsWithinOneTrialOfEveryCell() {
        QFETCH(QString, file);
        QFETCH(QString, set);
        QFETCH(QString, architecture);
        QFETCH(qint64, trainingWindow);
        QFETCH(int, lengthsAndTasks);
        const Map map = read_map(file, set);
        QVERIFY2(!map.empty(), qPrintable("docs/long-context/" + file + " is missing"));
        const Family* family = family_of_architecture(architecture.toStdString());
        QVERIFY(family);
        const AutoProfile profile{trainingWindow, family->trusted_position_share,
                                  family->auto_window_divisor};
        const auto [behindAuto, checked] =
            behind(map, [&](int64_t needed) { return automatic(profile, needed); });
        QVERIFY2(behindAuto.isEmpty(), qPrintable(behindAuto.join("; ")));
        QCOMPARE(checked, lengthsAndTasks);
    }

    // The rules before Auto's: each is more than one trial behind somewhere in the same data.
    void theRulesBeforeFail() {
        const auto [smolLM2, smolChecked] =
            behind(read_map("smollm2.jsonl", "A"), [](int64_t needed) {
                return AttentionMode::self_extend(smallest_group(8192, 4096, needed), 4096);
            });
        QVERIFY(smolChecked > 0);
        QVERIFY(!smolLM2.isEmpty());
        const auto [gemma3, gemmaChecked] = behind(read_map("gemma3.jsonl", "A"), [](int64_t n) {
            return automatic({32768, 1.0}, n);
        });
        QCOMPARE(gemmaChecked, 1);
        QVERIFY(!gemma3.isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestAutoFollowsMap)
#include "tst_auto_follows_map.moc"