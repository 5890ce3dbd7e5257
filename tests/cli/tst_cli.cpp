// selfextend-cli as a user runs it: exit codes, one-line errors, and the JSON the acceptance
// checks read.
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "pdf_bytes.h"
#include "selfextend/engine.h"
#include "test_paths.h"
#include "vocab_cases.h"

namespace {

struct Run {
    int exit_code = -1;
    QString out, err;
};

// cpuKernels: SE_CPU_KERNELS for the run (empty: as inherited).
Run cli(const QStringList& arguments, const QString& cpuKernels = {}) {
    QProcess process;
    if (!cpuKernels.isEmpty()) {
        QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
        environment.insert("SE_CPU_KERNELS", cpuKernels);
        process.setProcessEnvironment(environment);
    }
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

    // The project version from CMake, which the .deb carries too.
    void version() {
        const Run run = cli({"--version"});
        QCOMPARE(run.exit_code, 0);
        QCOMPARE(run.out, QStringLiteral("selfextend-cli " SE_VERSION "\n"));
    }

    // Laid out as `cmake --install` does (bin/, share/selfextend-studio/models/), the CLI takes
    // the demo model beside itself, not the one in the source tree it was built from: a package
    // has no source tree.
    void findsInstalledDemoModel() {
        QTemporaryDir prefix;
        QVERIFY(QDir(prefix.path()).mkpath(QStringLiteral("bin")));
        const QString models =
            QDir::cleanPath(prefix.path() + "/bin/" SE_DATA_FROM_BINDIR "/models");
        QVERIFY(QDir().mkpath(models));
        const QString installed_cli = prefix.path() + "/bin/selfextend-cli";
        QVERIFY(QFile::copy(SE_CLI_PATH, installed_cli));
        const QString model = models + "/selfextend-demo-8m-f16.gguf";
        QVERIFY(QFile::link(testing::demo_model_path(), model));
        QProcess process;
        process.start(installed_cli, {QStringLiteral("info")});
        QVERIFY(process.waitForFinished(60000));
        QCOMPARE(process.exitCode(), 0);
        const QString out = QString::fromUtf8(process.readAllStandardOutput());
        QVERIFY2(
            out.contains(QRegularExpression("\\nfile +" + QRegularExpression::escape(model) + " ")),
            qPrintable(out));
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

    // ask reads PDFs through the engine (poppler), as the studio does; one with no text layer
    // is a one-line error.
    void askReadsPdf() {
        QTemporaryDir dir;
        const auto write_pdf = [&](const QString& name, const std::vector<std::string>& pages) {
            QFile file(dir.path() + "/" + name);
            const std::string bytes = testing::pdf_bytes(pages);
            if (!file.open(QIODevice::WriteOnly) ||
                file.write(bytes.data(), qint64(bytes.size())) != qint64(bytes.size()))
                qFatal("cannot write %s", qPrintable(file.fileName()));
            return file.fileName();
        };
        const Run run = cli({"ask", "--doc", write_pdf("letter.pdf", {"The door code is 4821."}),
                             "--question", "What is the door code?", "-n", "2", "--no-cache"});
        QCOMPARE(run.exit_code, 0);
        const QRegularExpressionMatch tokens =
            QRegularExpression("(\\d+) document tokens").match(run.out + run.err);
        QVERIFY2(tokens.hasMatch() && tokens.captured(1).toInt() >= 8,
                 qPrintable(run.out + run.err));
        const Run scan = cli({"ask", "--doc", write_pdf("scan.pdf", {""}), "--question", "Q"});
        QCOMPARE(scan.exit_code, 1);
        QCOMPARE(scan.err.count('\n'), 1);
        QVERIFY2(scan.err.contains("this PDF has no text layer (scanned?)"), qPrintable(scan.err));
    }

    // The plain answer ends with its sentence (the demo model would otherwise run on to -n), and
    // --sources lists the passages that hold the answer's words, the planted sentence first
    // (here the only one: no other passage of the sample has "door", "code" or "4821"). At
    // G = 6, W = 256, where the demo model answers in one sentence.
    void askEndsPlainAnswersAndListsSources() {
        const Run run =
            cli({"ask", "--doc", QString(SE_SOURCE_DIR) + "/resources/samples/door-code.txt",
                 "--question", "What is the door code?", "-n", "40", "--no-cache", "--sources", "3",
                 "--group", "6", "--window", "256"});
        QCOMPARE(run.exit_code, 0);
        const QStringList lines = run.out.split('\n', Qt::SkipEmptyParts);
        QVERIFY2(lines.size() == 3, qPrintable(run.out));
        QCOMPARE(lines[0].trimmed(), QString("The door code is 4821."));
        QCOMPARE(lines[1], QString("sources (share of the answer's attention on the document):"));
        QVERIFY2(lines[2].startsWith("  1.") &&
                     lines[2].endsWith("Remember this: the door code is 4821."),
                 qPrintable(lines[2]));
        QVERIFY2(QRegularExpression("decode \\d+ tok/s \\((\\d+) tokens\\)")
                         .match(run.err)
                         .captured(1)
                         .toInt() < 40,
                 qPrintable(run.err));
    }

    void infoNamesTheCpuKernels() {
        // The build in use, by default the first this CPU runs (best first), and the others.
        const std::vector<selfextend::CpuKernelBuild> builds = selfextend::cpu_kernel_builds();
        QVERIFY(!builds.empty());
        QCOMPARE(
            std::count_if(builds.begin(), builds.end(), [](const auto& b) { return b.in_use; }), 1);
        const auto runnable = std::find_if(builds.begin(), builds.end(),
                                           [](const auto& build) { return build.runs_here; });
        QVERIFY(runnable != builds.end());
        const QString best = QString::fromStdString(runnable->name);
        const Run info = cli({"info"});
        QCOMPARE(info.exit_code, 0);
        QVERIFY2(
            info.out.contains(QRegularExpression("\\ndevice +CPU \\(\\d+ threads?, " +
                                                 QRegularExpression::escape(best) + " kernels\\)")),
            qPrintable(info.out));
        QVERIFY2(info.out.contains("\nCPU kernels   " + best + " ("), qPrintable(info.out));
        // Another build, asked for: the last this CPU runs (the most portable).
        const auto portable = std::find_if(builds.rbegin(), builds.rend(),
                                           [](const auto& build) { return build.runs_here; });
        const QString name = QString::fromStdString(portable->name);
        const Run forced = cli({"info"}, name);
        QCOMPARE(forced.exit_code, 0);
        QVERIFY2(forced.out.contains("\nCPU kernels   " + name + " ("), qPrintable(forced.out));
        // A name that is not a build: a plain error listing the builds, no model.
        const Run bogus = cli({"info"}, "avx9000");
        QCOMPARE(bogus.exit_code, 1);
        QVERIFY2(bogus.err.contains("SE_CPU_KERNELS=avx9000 is not a build of the CPU kernels in "
                                    "this program; it holds ") &&
                     bogus.err.contains(best),
                 qPrintable(bogus.err));
    }

    void infoShowsCapacity() {
        const Run info = cli({"info", "--group", "4", "--window", "256"});
        QCOMPARE(info.exit_code, 0);
        // One name: the file's; what the file calls itself beside it; a base model says so.
        QVERIFY2(info.out.startsWith("model         selfextend-demo-8m-f16 (a base model: no chat "
                                     "template)\ngeneral.name  selfextend-demo-8m\n"),
                 qPrintable(info.out));
        QVERIFY(info.out.contains("training window L  512"));
        QVERIFY(info.out.contains("tokenizer     SentencePiece, 4 096 tokens, BOS 1 '<s>'"));
        QVERIFY(info.out.contains("capacity (L-W)*G+W = 1 280"));
        QVERIFY(info.out.contains("8 392 960"));
    }

    void groupAutoChoosesGroupAndWindow() {
        // The studio's Auto (choose_attention): W = L/8 = 64 and the smallest G,
        // ceil(19 936 / 448) = 45.
        const Run both = cli({"info", "--group", "auto", "--tokens", "20000"});
        QCOMPARE(both.exit_code, 0);
        QVERIFY2(both.out.contains("G=45 W=64"), qPrintable(both.out));
        // With the reason, as the studio's hint gives it.
        QVERIFY2(both.out.contains("Auto: W = 64 keeps the last 64 tokens exact; G = 45 is the "
                                   "smallest group whose capacity ((512 − 64)·45 + 64 = 20 224)"),
                 qPrintable(both.out));
        // A given --window is kept: ceil((2 000 - 128) / 384) = 5.
        const Run kept = cli({"info", "--group", "auto", "--window", "128", "--tokens", "2000"});
        QCOMPARE(kept.exit_code, 0);
        QVERIFY2(kept.out.contains("G=5 W=128"), qPrintable(kept.out));
        QVERIFY2(!kept.out.contains("Auto:"), qPrintable(kept.out));  // the user's W, not Auto's
        // Past every capacity at G <= 64: an error saying what it would take, before any run (a
        // training window of 3 629 at its Auto W = 448: 3 181·64 + 448 = 204 032 >= 204 000).
        const Run none = cli({"info", "--group", "auto", "--tokens", "204000"});
        QCOMPARE(none.exit_code, 1);
        QVERIFY2(none.err.contains("Cannot fit") && none.err.contains("3 629"),
                 qPrintable(none.err));
    }

    void tokenizeIds() {
        const Run run = cli({"tokenize", "The pass key is 38117.", "--ids-only"});
        QCOMPARE(run.exit_code, 0);
        QCOMPARE(run.out.trimmed(),
                 QString("1 374 768 3962 363 4008 4080 4085 4070 4070 4087 4030"));
    }

    // llama.cpp's vocabulary-only GGUFs: info describes the vocabulary, tokenize gives the
    // reference ids, also for files of only whitespace (their bytes exactly, CR kept).
    void vocabularyOnlyFiles() {
        SKIP_WITHOUT_SHARED();
        const QString gpt2 = testing::shared_path("vocab/ggml-vocab-gpt-2.gguf");
        const Run info = cli({"info", testing::shared_path("vocab/ggml-vocab-starcoder.gguf")});
        QCOMPARE(info.exit_code, 0);
        QVERIFY2(info.out.contains("a vocabulary only, no tensors"), qPrintable(info.out));
        QVERIFY(info.out.contains("tokenizer     byte-level BPE"));
        QVERIFY(info.out.contains("pre-tokenizer starcoder"));
        QVERIFY(info.out.contains("vocabulary    49 152 tokens"));
        QVERIFY(info.out.contains("BOS           0 '<|endoftext|>', not added"));
        const Run with_group = cli({"info", gpt2, "--group", "4"});
        QCOMPARE(with_group.exit_code, 2);
        QVERIFY(with_group.err.contains("only a vocabulary"));

        const auto cases =
            testing::read_vocab_cases(testing::shared_path("vocab/ggml-vocab-gpt-2.gguf.inp"),
                                      testing::shared_path("vocab/ggml-vocab-gpt-2.gguf.out"));
        QVERIFY2(cases.problem.isEmpty(), qPrintable(cases.problem));
        auto expected = [&](size_t k) {
            QStringList ids;
            for (const int32_t id : cases.ids[k]) ids << QString::number(id);
            return ids.join(' ');
        };
        QCOMPARE(QByteArray::fromStdString(cases.texts[11]), QByteArray("Hello world"));
        const Run hello = cli({"tokenize", "-m", gpt2, "--ids-only", "Hello world"});
        QCOMPARE(hello.exit_code, 0);
        QCOMPARE(hello.out.trimmed(), expected(11));
        QTemporaryDir dir;
        // "   ", "\n\n\n", "\t\n" and the long whitespace mix: only whitespace is not "empty".
        for (const size_t k : {size_t(5), size_t(9), size_t(10), size_t(45)}) {
            QFile f(dir.path() + QString("/case%1.txt").arg(k));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(QByteArray::fromStdString(cases.texts[k]));
            f.close();
            const Run run = cli({"tokenize", gpt2, "--ids-only", "--file", f.fileName()});
            QCOMPARE(run.exit_code, 0);
            QCOMPARE(run.out.trimmed(), expected(k));
        }
        // A CR is tokenized, not dropped: GPT-2 spells byte 0x0D "č".
        QFile crlf(dir.path() + "/crlf.txt");
        QVERIFY(crlf.open(QIODevice::WriteOnly));
        crlf.write("a\r\nb");
        crlf.close();
        const Run pieces = cli({"tokenize", "-m", gpt2, "--file", crlf.fileName()});
        QCOMPARE(pieces.exit_code, 0);
        QVERIFY2(pieces.out.contains(QString::fromUtf8("\xC4\x8D")), qPrintable(pieces.out));
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

    // --last K keeps the last K rows of the same computation (the positions before are only
    // prefilled), and --tokens-file reads the ids --tokens takes.
    void logitsLastRowsFromTokensFile() {
        QTemporaryDir dir;
        const QString ids = dir.path() + "/ids.txt";
        QFile ids_file(ids);
        QVERIFY(ids_file.open(QIODevice::WriteOnly));
        ids_file.write("1 374\n768\t3962 17\n");
        ids_file.close();
        const auto read_floats = [](const QString& path) {
            QFile f(path);
            if (!f.open(QIODevice::ReadOnly)) return std::vector<float>{};
            const QByteArray bytes = f.readAll();
            std::vector<float> v(size_t(bytes.size()) / sizeof(float));
            std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
            return v;
        };
        const QString all = dir.path() + "/all.f32", tail = dir.path() + "/tail.f32";
        QCOMPARE(cli({"logits", "--tokens", "1 374 768 3962 17", "--group", "2", "--window", "2",
                      "--kv-type", "f32", "--out", all})
                     .exit_code,
                 0);
        const Run run = cli({"logits", "--tokens-file", ids, "--last", "2", "--group", "2",
                             "--window", "2", "--kv-type", "f32", "--out", tail});
        QCOMPARE(run.exit_code, 0);
        QVERIFY2(run.err.contains("2 x 4096 float32 logits of 5 positions"), qPrintable(run.err));
        const std::vector<float> every = read_floats(all), last = read_floats(tail);
        QCOMPARE(every.size(), size_t(5 * 4096));
        QCOMPARE(last.size(), size_t(2 * 4096));
        // A prefill in one chunk and one in two differ only by float rounding.
        float worst = 0, largest = 0;
        for (size_t k = 0; k < last.size(); ++k) {
            worst = std::max(worst, std::abs(last[k] - every[3 * 4096 + k]));
            largest = std::max(largest, std::abs(every[3 * 4096 + k]));
        }
        QVERIFY2(worst <= 1e-4f * largest, qPrintable(QString::number(worst / largest)));
        QVERIFY(largest > 1.0f);
        QCOMPARE(cli({"logits", "--tokens", "1 2", "--tokens-file", ids, "--out", tail}).exit_code,
                 2);
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
        // Each trial: its depth, key, answer and verdict, the verdicts adding up to "correct".
        const QJsonArray details = results[1].toObject()["details"].toArray();
        QCOMPARE(details.size(), 2);
        QCOMPARE(details[0].toObject()["depth"].toDouble(), 0.2);
        QCOMPARE(details[1].toObject()["depth"].toDouble(), 0.8);
        int verdicts = 0;
        for (const auto& trial : details) {
            const QJsonObject t = trial.toObject();
            QVERIFY(!t["key"].toString().isEmpty());
            if (t["correct"].toBool())  // the answer starts with the key
                QVERIFY2(t["answer"].toString().trimmed().startsWith(t["key"].toString()),
                         qPrintable(t["answer"].toString()));
            verdicts += t["correct"].toBool();
        }
        QCOMPARE(verdicts, results[1].toObject()["correct"].toInt());
        // --no-vanilla: the Self-Extend mode alone, the table's vanilla column empty.
        const Run alone = cli({"passkey", "--lengths", "700", "--depths", "0.2,0.8", "--group", "4",
                               "--window", "256", "--no-vanilla", "--json"});
        const QJsonArray only =
            QJsonDocument::fromJson(alone.out.toUtf8()).object()["results"].toArray();
        QCOMPARE(only.size(), 1);
        QCOMPARE(only[0].toObject()["mode"].toString(), QString("self-extend"));
        QCOMPARE(only[0].toObject()["correct"].toInt(), results[1].toObject()["correct"].toInt());
        const Run table = cli({"passkey", "--lengths", "700", "--depths", "0.5", "--group", "4",
                               "--window", "256", "--no-vanilla"});
        QVERIFY2(table.out.contains(QRegularExpression("700 +\\d+ +- +\\d+% +4 +256")),
                 qPrintable(table.out));
    }

    // --windows: vanilla once, then one Self-Extend mode per W, each with the smallest group
    // that covers the length: (512 - 64)·2 + 64 = 960 and (512 - 256)·2 + 256 = 768 hold 700.
    void passkeySeveralWindows() {
        const Run run = cli(
            {"passkey", "--lengths", "700", "--depths", "0.5", "--windows", "64,256", "--json"});
        QCOMPARE(run.exit_code, 0);
        const QJsonArray results =
            QJsonDocument::fromJson(run.out.toUtf8()).object()["results"].toArray();
        QCOMPARE(results.size(), 3);
        QCOMPARE(results[0].toObject()["mode"].toString(), QString("vanilla"));
        for (const auto& [k, window] : {std::pair{1, 64}, std::pair{2, 256}}) {
            QCOMPARE(results[k].toObject()["window"].toInt(), window);
            QCOMPARE(results[k].toObject()["group"].toInt(), 2);
        }
        const Run table =
            cli({"passkey", "--lengths", "700", "--depths", "0.5", "--windows", "64,256"});
        QCOMPARE(table.exit_code, 0);
        QVERIFY2(table.out.contains(QRegularExpression("W=64 +W=256")), qPrintable(table.out));
        QVERIFY2(table.out.contains(QRegularExpression("\\d+% G2 +\\d+% G2")),
                 qPrintable(table.out));
        const Run both = cli({"passkey", "--window", "64", "--windows", "64,256"});
        QCOMPARE(both.exit_code, 2);
    }

    // probe on the bundled sample (1 500 tokens, three times the demo model's window): the
    // planted key at each depth, vanilla and the given candidates in order; vanilla cannot reach
    // past its window here.
    // The probe plants invented facts in the document and asks about each; the 8M demo model
    // states none of them (it retrieves one planted sentence, not several), so its
    // recommendation is the setting closest to Auto's.
    void probeOnTheSample() {
        const QString sample = QString(SE_SOURCE_DIR) + "/resources/samples/door-code.txt";
        const Run run = cli({"probe", "--doc", sample, "--depths", "0.2,0.8", "--candidates",
                             "vanilla,6:256,4:128", "--json"});
        QCOMPARE(run.exit_code, 0);
        QVERIFY2(run.err.contains("3 settings × one reading of the document"), qPrintable(run.err));
        const QJsonObject out = QJsonDocument::fromJson(run.out.toUtf8()).object();
        QVERIFY2(out["document_tokens"].toInt() > 1400, qPrintable(run.out));
        const QJsonArray results = out["results"].toArray();
        QCOMPARE(results.size(), 3);
        QCOMPARE(results[0].toObject()["mode"].toString(), QString("vanilla"));
        QCOMPARE(results[0].toObject()["found"].toInt(), 0);
        QCOMPARE(results[2].toObject()["window"].toInt(), 128);
        int most = -1;
        for (int k = 0; k < results.size(); ++k) {
            const QJsonObject r = results[k].toObject();
            const QJsonArray answers = r["answers"].toArray();
            QCOMPARE(answers.size(), 2);
            QCOMPARE(answers[0].toObject()["expected"].toString(), QString("bluebird-58"));
            QCOMPARE(answers[1].toObject()["question"].toString(),
                     QString("What is the combination of the old iron safe?"));
            int found = 0;
            for (const auto& a : answers) {
                const QJsonObject answer = a.toObject();
                // Right exactly when the answer holds the expected letters and digits.
                const auto folded = [](QString s) {
                    return s.toLower().remove(QRegularExpression("[^0-9a-z]"));
                };
                QCOMPARE(answer["correct"].toBool(),
                         folded(answer["answer"].toString())
                             .contains(folded(answer["expected"].toString())));
                found += answer["correct"].toBool();
            }
            QCOMPARE(r["found"].toInt(), found);
            most = std::max(most, found);
        }
        // The setting closest to Auto's (G = 4, W = 64 for this sample's probe: 4:128) stays
        // unless another states at least two facts more (probe.h, kProbeMargin).
        QVERIFY2(run.err.contains("Auto: self-extend G=4 W=64"), qPrintable(run.err));
        const bool other = most >= results[2].toObject()["found"].toInt() + 2;
        for (int k = 0; k < results.size(); ++k)
            QCOMPARE(results[k].toObject()["recommended"].toBool(),
                     other ? results[k].toObject()["found"].toInt() == most : k == 2);
        // Without --candidates: Auto's setting and the map's runner-up, no vanilla past L.
        const Run plain = cli({"probe", "--doc", sample, "--depths", "0.5", "--json"});
        QCOMPARE(plain.exit_code, 0);
        QVERIFY2(plain.err.contains("2 settings × one reading"), qPrintable(plain.err));
        const QJsonArray two = QJsonDocument::fromJson(plain.out.toUtf8())["results"].toArray();
        QCOMPARE(two.size(), 2);
        QCOMPARE(two[0].toObject()["group"].toInt(), 4);
        QCOMPARE(two[0].toObject()["window"].toInt(), 64);
        QCOMPARE(two[1].toObject()["window"].toInt(), 128);  // twice Auto's W, its smallest G
        QCOMPARE(cli({"probe", "--doc", sample, "--candidates", "4"}).exit_code, 2);
        QCOMPARE(cli({"probe", "--doc", sample, "--depths", "0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9"})
                     .exit_code,
                 2);  // more depths than facts
        QCOMPARE(cli({"probe"}).exit_code, 2);
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

    // --json numbers round-trip: a perplexity keeps every digit of its double (more than the
    // 6 significant digits of a default ostream), and a ratio that is 0/0 is null, not the
    // invalid JSON "nan".
    void jsonNumbersAreExact() {
        QTemporaryDir dir;
        const QString doc = dir.path() + "/doc.txt";
        QCOMPARE(cli({"make-document", "--tokens", "200", "--out", doc}).exit_code, 0);
        const Run run = cli({"perplexity", "--file", doc, "--lengths", "64", "--json"});
        QCOMPARE(run.exit_code, 0);
        QJsonParseError error{};
        const QJsonDocument parsed = QJsonDocument::fromJson(run.out.toUtf8(), &error);
        QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(run.out));
        const QRegularExpressionMatch ppl =
            QRegularExpression("\"ppl\": ?([0-9.eE+-]+)").match(run.out);
        QVERIFY2(ppl.hasMatch(), qPrintable(run.out));
        const QString digits = ppl.captured(1).split(QRegularExpression("[eE]")).front();
        QVERIFY2(digits.count(QRegularExpression("[0-9]")) > 6, qPrintable(run.out));
        QCOMPARE(parsed.object()["results"].toArray()[0].toObject()["ppl"].toDouble(),
                 ppl.captured(1).toDouble());

        const Run bench = cli({"bench", "--prompt", "8", "--gen", "0", "--repeat", "1", "--json"});
        QCOMPARE(bench.exit_code, 0);
        const QJsonObject object = QJsonDocument::fromJson(bench.out.toUtf8(), &error).object();
        QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(bench.out));
        QVERIFY(object.contains("self_extend_decode_time_ratio"));
        QVERIFY(object["self_extend_decode_time_ratio"].isNull());
        QVERIFY(object["self_extend_prefill_time_ratio"].toDouble() > 0);
    }

    // --kv-type on every command that makes sessions: a bad value is one usage line (exit 2)
    // before any work; the type changes what is stored (and so the logits, a little); info
    // shows the bytes of each type.
    void kvTypeFlag() {
        const QString book = testing::shared_path("corpus/books/pg2610_notre_dame_de_paris.txt");
        const QList<QStringList> commands{
            {"generate", "-p", "x", "-n", "1"},
            {"ask", "--doc", "/nonexistent.txt", "--question", "Q"},
            {"passkey", "--lengths", "700"},
            {"perplexity", "--file", book},
            {"logits", "--tokens", "1 2", "--out", "/nonexistent/x"},
            {"bench", "--prompt", "8", "--gen", "1"},
        };
        for (const QStringList& command : commands) {
            const Run bad = cli(command + QStringList{"--kv-type", "q4_0"});
            QCOMPARE(bad.exit_code, 2);
            QCOMPARE(bad.err.count('\n'), 1);
            QVERIFY2(bad.err.contains("--kv-type: 'q4_0' is not one of f32, f16, q8_0"),
                     qPrintable(command.front() + ": " + bad.err));
        }
        QCOMPARE(cli({"info", "--kv-type", "f16"}).exit_code, 2);  // info makes no session

        const Run info = cli({"info"});
        QCOMPARE(info.exit_code, 0);
        // 8 layers x K and V x 2 KV heads x 64 values: 4, 2 and 34/32 bytes a value; and for
        // Self-Extend the grouped keys of the 8 layers too.
        QVERIFY2(info.out.contains("vanilla      f32 8 192, f16 4 096, q8_0 2 176 bytes per token"),
                 qPrintable(info.out));
        QVERIFY2(info.out.contains("L tokens: f32 4.0 MiB, f16 2.0 MiB, q8_0 1.1 MiB"),
                 qPrintable(info.out));
        QVERIFY2(
            info.out.contains("Self-Extend  f32 12 288, f16 6 144, q8_0 3 264 bytes per token"),
            qPrintable(info.out));
        QVERIFY2(info.out.contains("L tokens: f32 6.0 MiB, f16 3.0 MiB, q8_0 1.6 MiB"),
                 qPrintable(info.out));

        QTemporaryDir dir;
        const auto logits = [&](const QStringList& extra) {
            const QString out =
                dir.path() + "/logits" + QString::number(extra.size()) + extra.join('_') + ".f32";
            const Run run =
                cli(QStringList{"logits", "--tokens", "1 374 768 3962", "--out", out} + extra);
            [&] { QCOMPARE(run.exit_code, 0); }();
            QFile file(out);
            return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
        };
        const QByteArray by_default = logits({});
        QCOMPARE(by_default.size(), 4 * 4096 * 4);
        QCOMPARE(logits({"--kv-type", "f16"}), by_default);  // the default
        const QByteArray f32 = logits({"--kv-type", "f32"});
        const QByteArray q8_0 = logits({"--kv-type", "q8_0"});
        QCOMPARE(f32.size(), by_default.size());
        QVERIFY(f32 != by_default && q8_0 != by_default && q8_0 != f32);

        const Run bench = cli({"bench", "--prompt", "32", "--gen", "2", "--repeat", "1",
                               "--kv-type", "q8_0", "--json"});
        QCOMPARE(bench.exit_code, 0);
        QCOMPARE(QJsonDocument::fromJson(bench.out.toUtf8()).object()["kv_type"].toString(),
                 QString("q8_0"));
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
