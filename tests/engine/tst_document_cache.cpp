// The document cache: a follow-up question reuses the document's KV in memory and from disk and
// gets exactly the logits of a fresh prefill; damaged or foreign cache files are never trusted;
// another G or W is another entry; the folder stays under its size cap.
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QtTest>

#include "selfextend/chat.h"
#include "selfextend/engine.h"
#include "selfextend/kv_disk_cache.h"
#include "test_paths.h"

using namespace selfextend;

namespace {

// Largest |a - b| over the largest |b|.
double relative_difference(std::span<const float> a, std::span<const float> b) {
    double worst = 0, scale = 1e-30;
    for (size_t k = 0; k < a.size(); ++k) {
        worst = std::max(worst, double(std::abs(a[k] - b[k])));
        scale = std::max(scale, double(std::abs(b[k])));
    }
    return worst / scale;
}

QStringList entries(const QString& folder) {
    return QDir(folder).entryList({"*.sekv"}, QDir::Files, QDir::Name);
}

}  // namespace

class TestDocumentCache : public QObject {
    Q_OBJECT
  private slots:
    void initTestCase() {
        model_ = Model::load(testing::demo_model_path().toStdString(), {.device = Device::Cpu});
        // About 1 100 tokens of the project's own sample (past the 512-token window).
        QFile sample(QString(SE_SOURCE_DIR) + "/resources/samples/door-code.txt");
        QVERIFY(sample.open(QIODevice::ReadOnly));
        document_ = sample.readAll().left(4000).toStdString();
    }

    void followUpReusesTheDocument_data() {
        QTest::addColumn<int>("group");
        QTest::addColumn<int>("window");
        QTest::newRow("vanilla") << 1 << 0;
        QTest::newRow("self-extend G4 W128") << 4 << 128;
    }
    void followUpReusesTheDocument() {
        QFETCH(int, group);
        QFETCH(int, window);
        const AttentionMode mode{group, window};
        const ChatTemplate& chat = model_->chat_template();
        const auto first = chat.document_prompt({}, document_, {}, "What is the door code?");
        const auto second = chat.document_prompt({}, document_, {}, "Who is at the door?");
        QVERIFY(first.document_prefix > 900);
        QCOMPARE(second.document_prefix, first.document_prefix);

        auto session = model_->new_session({int64_t(first.tokens.size()) + 8, mode});
        QCOMPARE(session->prefill_reusing(first.tokens), int64_t(0));
        // The second question runs only its own tokens, into a cache that has to grow.
        const int64_t reused = session->prefill_reusing(second.tokens);
        QVERIFY2(reused >= first.document_prefix, qPrintable(QString::number(reused)));
        QCOMPARE(session->position(), int64_t(second.tokens.size()));
        QVERIFY(std::equal(second.tokens.begin(), second.tokens.end(), session->tokens().begin()));

        auto fresh = model_->new_session({int64_t(second.tokens.size()), mode});
        fresh->prefill(second.tokens);
        const double difference = relative_difference(session->last_logits(), fresh->last_logits());
        qInfo("%s: reused %lld tokens, logits differ by %.2g of the largest",
              mode.describe().c_str(), (long long)reused, difference);
        QVERIFY(difference < 1e-5);
        // The same prompt again still runs its last token: the logits are its own.
        QCOMPARE(session->prefill_reusing(second.tokens), int64_t(second.tokens.size()) - 1);
        QVERIFY(relative_difference(session->last_logits(), fresh->last_logits()) < 1e-5);
    }

    void diskCacheAnswersWithoutAPrefill() {
        QTemporaryDir folder;
        const KvDiskCache cache(folder.path().toStdString());
        const AttentionMode mode = AttentionMode::self_extend(4, 128);
        const ChatTemplate& chat = model_->chat_template();
        const auto first = chat.document_prompt({}, document_, {}, "What is the door code?");
        const std::span prefix(first.tokens.data(), size_t(first.document_prefix));

        auto writer = model_->new_session({int64_t(first.tokens.size()), mode});
        writer->prefill(first.tokens);
        std::string warning;
        QVERIFY2(cache.save(*writer, prefix, &warning), warning.c_str());
        QCOMPARE(entries(folder.path()).size(), 1);

        // Yesterday's document, today: the session starts from the file.
        const auto second = chat.document_prompt({}, document_, {}, "Who is at the door?");
        auto reader = model_->new_session({int64_t(second.tokens.size()), mode});
        QVERIFY2(cache.load(*reader, prefix, &warning), warning.c_str());
        QCOMPARE(reader->position(), first.document_prefix);
        QCOMPARE(reader->prefill_reusing(second.tokens), first.document_prefix);
        auto fresh = model_->new_session({int64_t(second.tokens.size()), mode});
        fresh->prefill(second.tokens);
        QVERIFY(relative_difference(reader->last_logits(), fresh->last_logits()) < 1e-5);

        // Another G or W is another entry: nothing to load for it.
        auto other_mode = model_->new_session({int64_t(second.tokens.size()), {4, 64}});
        QVERIFY(!cache.load(*other_mode, prefix, &warning));
        QCOMPARE(other_mode->position(), int64_t(0));
        // So is another KV type.
        auto other_type =
            model_->new_session({int64_t(second.tokens.size()), mode,
                                 writer->kv_type() == KvType::F32 ? KvType::F16 : KvType::F32});
        if (other_type->kv_type() != writer->kv_type())
            QVERIFY(!cache.load(*other_type, prefix, &warning));
    }

    void damagedOrForeignFilesAreNeverTrusted_data() {
        QTest::addColumn<QString>("damage");
        QTest::newRow("a flipped byte in the KV") << "flip";
        QTest::newRow("truncated") << "truncate";
        QTest::newRow("grown") << "append";
        QTest::newRow("another entry's file under this name") << "foreign";
        QTest::newRow("not a cache file") << "garbage";
    }
    void damagedOrForeignFilesAreNeverTrusted() {
        QFETCH(QString, damage);
        QTemporaryDir folder;
        const KvDiskCache cache(folder.path().toStdString());
        const AttentionMode mode = AttentionMode::self_extend(4, 128);
        const ChatTemplate& chat = model_->chat_template();
        const auto prompt = chat.document_prompt({}, document_, {}, "What is the door code?");
        const std::span prefix(prompt.tokens.data(), size_t(prompt.document_prefix));
        auto writer = model_->new_session({int64_t(prompt.tokens.size()), mode});
        writer->prefill(prompt.tokens);
        QVERIFY(cache.save(*writer, prefix));
        const QString path = folder.filePath(entries(folder.path()).first());

        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadWrite));
        QByteArray bytes = file.readAll();
        if (damage == "flip") {
            bytes[bytes.size() / 2] = char(bytes[bytes.size() / 2] ^ 0x10);
        } else if (damage == "truncate") {
            bytes.chop(100);
        } else if (damage == "append") {
            bytes.append("extra");
        } else if (damage == "foreign") {
            // A valid entry for a shorter prefix, renamed to this prefix's name.
            const KvDiskCache other(folder.filePath("other").toStdString());
            QVERIFY(other.save(*writer, prefix.first(prefix.size() - 10)));
            QFile foreign(folder.filePath("other/" + entries(folder.filePath("other")).first()));
            QVERIFY(foreign.open(QIODevice::ReadOnly));
            bytes = foreign.readAll();
        } else {
            bytes = QByteArray(bytes.size(), 'x');
        }
        QVERIFY(file.resize(0) && file.seek(0) && file.write(bytes) == bytes.size());
        file.close();

        auto reader = model_->new_session({int64_t(prompt.tokens.size()), mode});
        std::string warning;
        QVERIFY(!cache.load(*reader, prefix, &warning));
        qInfo("%s", warning.c_str());
        QVERIFY(!warning.empty());
        QCOMPARE(reader->position(), int64_t(0));  // nothing of it was kept
        QVERIFY(!QFileInfo::exists(path));         // and the file is gone
        reader->prefill(prompt.tokens);            // the session works as new
        QVERIFY(relative_difference(reader->last_logits(), writer->last_logits()) < 1e-5);
    }

    void folderStaysUnderItsCap() {
        QTemporaryDir folder;
        const AttentionMode mode = AttentionMode::self_extend(4, 128);
        const ChatTemplate& chat = model_->chat_template();
        const auto prompt = chat.document_prompt({}, document_, {}, "What is the door code?");
        auto session = model_->new_session({int64_t(prompt.tokens.size()), mode});
        session->prefill(prompt.tokens);
        // Entries of 400, 500 and 600 tokens (2.5 of the largest) under a cap of 2.2 of it.
        const KvDiskCache probe(folder.filePath("probe").toStdString());
        QVERIFY(probe.save(*session, std::span(prompt.tokens).first(600)));
        const uint64_t entry = probe.total_bytes();
        const uint64_t cap = entry * 2 + entry / 5;
        const KvDiskCache cache(folder.path().toStdString(), cap);
        for (const size_t length : {400, 500, 600}) {
            QVERIFY(cache.save(*session, std::span(prompt.tokens).first(length)));
            QTest::qWait(20);  // distinct modification times
        }
        QVERIFY(cache.total_bytes() <= cap);
        QCOMPARE(entries(folder.path()).size(), 2);
        // The oldest (400 tokens) went first.
        auto reader = model_->new_session({int64_t(prompt.tokens.size()), mode});
        QVERIFY(!cache.load(*reader, std::span(prompt.tokens).first(400)));
        QVERIFY(cache.load(*reader, std::span(prompt.tokens).first(600)));
    }

  private:
    std::shared_ptr<Model> model_;
    std::string document_;
};

QTEST_APPLESS_MAIN(TestDocumentCache)
#include "tst_document_cache.moc"
