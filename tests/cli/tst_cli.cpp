// selfextend-cli as a user runs it: exit codes, one-line errors, and the JSON the acceptance
// checks read.
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include "test_paths.h"

namespace {

struct Run {
    int exit_code = -1;
    QString out, err;
};

Run cli(const QStringList& arguments) {
    QProcess process;
    process.start(SE_CLI_PATH, arguments);
    process.waitForFinished(120000);
    return {process.exitCode(), QString::fromUtf8(process.readAllStandardOutput()),
            QString::fromUtf8(process.readAllStandardError())};
}

}  // namespace

class TestCli : public QObject {
    Q_OBJECT
  private slots:
    void helpAndUsageErrors() {
        QCOMPARE(cli({"--help"}).exit_code, 0);
        QVERIFY(cli({"--help"}).out.contains("passkey"));
        const Run unknown_command = cli({"frobnicate"});
        QCOMPARE(unknown_command.exit_code, 2);
        QVERIFY(unknown_command.err.contains("unknown command"));
        const Run unknown_flag = cli({"info", "--frobnicate"});
        QCOMPARE(unknown_flag.exit_code, 2);
        QCOMPARE(unknown_flag.err.count('\n'), 1);  // one line
        QVERIFY(unknown_flag.err.contains("unknown option --frobnicate"));
        QCOMPARE(cli({"generate", "-p", "x", "-n", "lots"}).exit_code, 2);
    }

    void badFiles() {
        const Run missing = cli({"info", "/nonexistent/model.gguf"});
        QCOMPARE(missing.exit_code, 1);
        QVERIFY(missing.err.contains("cannot open"));
        QTemporaryDir dir;
        QFile garbage(dir.path() + "/bad.gguf");
        QVERIFY(garbage.open(QIODevice::WriteOnly));
        garbage.write("GGUF\x03\x00\x00\x00", 8);
        garbage.close();
        const Run truncated = cli({"info", garbage.fileName()});
        QCOMPARE(truncated.exit_code, 1);
        QVERIFY(truncated.err.contains("at byte"));
        QCOMPARE(truncated.err.count('\n'), 1);
        QFile binary(dir.path() + "/doc.txt");
        QVERIFY(binary.open(QIODevice::WriteOnly));
        binary.write(QByteArray("\x00\x01\x02\x03binary", 10));
        binary.close();
        const Run not_text = cli({"ask", "--doc", binary.fileName(), "--question", "What?"});
        QCOMPARE(not_text.exit_code, 1);
        QVERIFY(not_text.err.contains("binary"));
    }

    void infoShowsCapacity() {
        const Run info = cli({"info", "--group", "4", "--window", "256"});
        QCOMPARE(info.exit_code, 0);
        QVERIFY(info.out.contains("training window L  512"));
        QVERIFY(info.out.contains("capacity (L-W)*G+W = 1 280"));
        QVERIFY(info.out.contains("8 392 960"));
    }

    void tokenizeIds() {
        const Run run = cli({"tokenize", "The pass key is 38117.", "--ids-only"});
        QCOMPARE(run.exit_code, 0);
        QCOMPARE(run.out.trimmed(),
                 QString("1 374 768 3962 363 4008 4080 4085 4070 4070 4087 4030"));
    }

    void doubleDashEndsOptions() {
        const Run run = cli({"tokenize", "--ids-only", "--", "-5 degrees"});
        QCOMPARE(run.exit_code, 0);
        QVERIFY(run.out.startsWith("1 "));
        QVERIFY(run.out.trimmed().split(' ').size() > 3);
    }

    void logitsFileHasEveryPosition() {
        QTemporaryDir dir;
        const QString out = dir.path() + "/logits.f32";
        const Run run = cli({"logits", "--tokens", "1 374 768 3962", "--group", "2", "--window",
                             "2", "--out", out});
        QCOMPARE(run.exit_code, 0);
        QCOMPARE(QFileInfo(out).size(), qint64(4 * 4096 * 4));
    }

    void passkeyJson() {
        const Run run = cli({"passkey", "--lengths", "700", "--depths", "0.2,0.8", "--group", "4",
                             "--window", "256", "--json"});
        QCOMPARE(run.exit_code, 0);
        const QJsonArray results =
            QJsonDocument::fromJson(run.out.toUtf8()).object()["results"].toArray();
        QCOMPARE(results.size(), 2);
        QCOMPARE(results[0].toObject()["mode"].toString(), QString("vanilla"));
        QCOMPARE(results[1].toObject()["mode"].toString(), QString("self-extend"));
        QCOMPARE(results[1].toObject()["group"].toInt(), 4);
        QCOMPARE(results[1].toObject()["trials"].toInt(), 2);
        const double accuracy = results[1].toObject()["accuracy"].toDouble();
        QCOMPARE(accuracy, results[1].toObject()["correct"].toInt() / 2.0);
    }

    void perplexityJson() {
        SKIP_WITHOUT_SHARED();
        const Run run = cli({"perplexity", "--file",
                             testing::shared_path("corpus/books/pg2610_notre_dame_de_paris.txt"),
                             "--lengths", "256", "--windows", "2", "--json"});
        QCOMPARE(run.exit_code, 0);
        const QJsonArray results =
            QJsonDocument::fromJson(run.out.toUtf8()).object()["results"].toArray();
        QCOMPARE(results.size(), 2);
        QCOMPARE(results[0].toObject()["tokens_scored"].toInt(), 2 * 255);
        QVERIFY(results[0].toObject()["ppl"].toDouble() > 1.0);
    }

    void benchJson() {
        const Run run = cli({"bench", "--prompt", "64", "--gen", "4", "--repeat", "1", "--json"});
        QCOMPARE(run.exit_code, 0);
        const QJsonArray results =
            QJsonDocument::fromJson(run.out.toUtf8()).object()["results"].toArray();
        QCOMPARE(results.size(), 2);
        QVERIFY(results[0].toObject()["prefill_tok_s"].toDouble() > 0);
        QVERIFY(results[1].toObject()["decode_tok_s"].toDouble() > 0);
    }
};

QTEST_MAIN(TestCli)
#include "tst_cli.moc"
