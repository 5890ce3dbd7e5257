// Gemma 3 270M, the second real model and the first with sliding-window layers, against an
// independent float64 forward pass (tools/reference/gemma3_reference.py: numpy over the weights
// as the PyPI gguf package dequantizes them, written from REAL_MODELS.md; Self-Extend on the
// global layers as in SELFEXTEND.md). The stored token ids of a Persuasion passage (1 331 tokens
// with BOS, made by the PyPI sentencepiece package) go through a session in vanilla mode and in
// two Self-Extend modes whose windows the passage exceeds; the logits must match the reference's,
// both for the shipped Q4_K_M file and for an F32 copy of it written by quantize_model. The data
// and its format: tests/data/gemma3/README.md. The engine's tokenizer is checked against the same
// PyPI sentencepiece tokenizer on edge cases, shared test texts and whole books.
#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "reference_logits.h"
#include "selfextend/engine.h"
#include "selfextend/quantize.h"
#include "test_paths.h"
#include "vocab_cases.h"

using namespace selfextend;
using testing::add_rows;
using testing::Agreement;
using testing::LogitsDigest;
using testing::read_logits;
using testing::read_tokens;
using testing::ReferenceLogits;

namespace {

// The bounds the tests hold the engine to, relative to the reference's largest |logit|.
// The shipped file with the session's default KV cache: a mature engine that quantizes
// activations to 8 bits lands at 4.9e-2 on this model (REAL_MODELS.md).
constexpr double kShippedTolerance = 7e-2;
constexpr double kShippedTop1 = 0.85;
// The F32 copy with an F32 KV cache: only float32 rounding stands between engine and reference
// (measured: 1e-6 to 2e-6). Tighter than SmolLM2's 5e-3 because Self-Extend moves this model's
// logits little (it regroups 3 of 18 layers): G=4 W=1024 moves them by 3.8e-3 of the largest,
// which 5e-3 would not tell from vanilla.
constexpr double kF32Tolerance = 1e-4;
constexpr double kF32Top1 = 0.99;

// Rows of logits asked for at once: a whole passage's [1 331 x 262 144] floats would be 1.4 GB.
constexpr int64_t kRowsPerCall = 128;

QString data_path(const QString& name) {
    return QString(SE_SOURCE_DIR) + "/tests/data/gemma3/" + name;
}

LogitsDigest digest(Session& session, const std::vector<int32_t>& tokens,
                    const ReferenceLogits& ref) {
    LogitsDigest d;
    for (int64_t r0 = 0; r0 < int64_t(tokens.size()); r0 += kRowsPerCall) {
        const int64_t count = std::min<int64_t>(kRowsPerCall, int64_t(tokens.size()) - r0);
        const std::vector<float> logits =
            session.logits_for(std::span(tokens).subspan(size_t(r0), size_t(count)));
        add_rows(d, logits.data(), r0, count, ref);
    }
    return d;
}

}  // namespace

class TestGemma3 : public QObject {
    Q_OBJECT

  private:
    std::vector<int32_t> tokens_;
    std::shared_ptr<Model> shipped_;
    QTemporaryDir f32_dir_;
    std::shared_ptr<Model> f32_;

    Model& shipped() {
        if (!shipped_)
            shipped_ = Model::load(testing::gemma3_path().toStdString(), {.device = Device::Cpu});
        return *shipped_;
    }

    // An F32 copy of the shipped file, written once by the engine's quantize function.
    Model& f32_copy() {
        if (!f32_) {
            QElapsedTimer timer;
            timer.start();
            const std::string path = (f32_dir_.path() + "/gemma3-f32.gguf").toStdString();
            const QuantizeResult result =
                quantize_model(testing::gemma3_path().toStdString(), path, "F32");
            qInfo("F32 copy: %d tensors converted, %d kept, %.0f MB, %.1f s",
                  result.tensors_converted, result.tensors_kept, double(result.output_bytes) / 1e6,
                  double(timer.elapsed()) / 1e3);
            f32_ = Model::load(path, {.device = Device::Cpu});
        }
        return *f32_;
    }

    // The session's logits of every stored token under `mode`, timed, against `ref`.
    Agreement run(Model& model, const ReferenceLogits& ref, KvType kv_type) {
        QElapsedTimer timer;
        timer.start();
        auto session = model.new_session({int64_t(tokens_.size()), ref.mode, kv_type});
        const LogitsDigest d = digest(*session, tokens_, ref);
        const double seconds = double(timer.elapsed()) / 1e3;
        qInfo("%s, %s KV cache: %zu tokens in %.1f s (%.0f tok/s)", ref.mode.describe().c_str(),
              std::string(kv_type_name(kv_type)).c_str(), tokens_.size(), seconds,
              double(tokens_.size()) / seconds);
        return compare(d, ref);
    }

    static void add_settings() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<int>("group");
        QTest::addColumn<int>("window");
        QTest::newRow("vanilla") << "logits_vanilla.bin" << 1 << 0;
        QTest::newRow("G=4 W=1024") << "logits_g4_w1024.bin" << 4 << 1024;
        QTest::newRow("G=8 W=600") << "logits_g8_w600.bin" << 8 << 600;  // W not a multiple of G
    }

    // Reads the reference of the current data row into `ref`; returns what is wrong, or "".
    static QString read_current_reference(ReferenceLogits& ref) {
        QFETCH(QString, file);
        QFETCH(int, group);
        QFETCH(int, window);
        return read_logits_for(data_path(file), group, window, ref);
    }

  private slots:
    void initTestCase() {
        const QString error = read_tokens(data_path("tokens.bin"), tokens_);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QVERIFY(tokens_.size() >= 1200);
        QVERIFY(f32_dir_.isValid());
    }

    // What the loader makes of the file: the family, the sliding window, where Self-Extend goes.
    void hyperParameters() {
        SKIP_WITHOUT_MODEL(testing::gemma3_path());
        const ModelInfo& info = shipped().info();
        QCOMPARE(info.architecture, std::string("gemma3"));
        QCOMPARE(info.family, std::string("Gemma 3"));
        QCOMPARE(info.layer_count, 18);
        QCOMPARE(info.head_dim, 256);
        QCOMPARE(info.head_count, 4);
        QCOMPARE(info.head_count_kv, 1);
        QCOMPARE(info.training_window, int64_t(32768));
        QCOMPARE(info.sliding_window, 512);
        // Auto keeps Gemma 3's grouped positions within 2/3 of L (the family entry, measured in
        // docs/long-context.md): at 40 032 tokens G = 3, not the smallest fitting G = 2.
        QCOMPARE(info.trusted_position_share, 2.0 / 3.0);
        QCOMPARE(choose_attention(info.auto_profile(), 40032).group, 3);
        QCOMPARE(info.rope_freq_base, 1e6f);
        QCOMPARE(info.rope_freq_base_local, 1e4f);
        QCOMPARE(info.self_extend_layers, (std::vector<int>{5, 11, 17}));
        QCOMPARE(shipped().bos_id(), 2);
        QCOMPARE(shipped().tokenize("Hi", true).front(), 2);  // BOS added
    }

    // The engine's SentencePiece tokenizer against the PyPI sentencepiece package
    // (tools/reference/gen_gemma3_tokenizer_vectors.py): Gemma's own edge cases, and the texts of
    // the byte-level BPE vectors (book passages, scripts, emoji, random mixtures).
    void tokenizerVectors_data() {
        QTest::addColumn<QString>("inp");
        QTest::addColumn<QString>("out");
        QTest::newRow("Gemma edge cases")
            << data_path("tokenizer-extra.inp") << data_path("tokenizer-extra.out");
        QTest::newRow("shared texts")
            << QString(SE_SOURCE_DIR) + "/tests/data/tokenizer/smollm2-vectors.inp"
            << data_path("tokenizer-shared.out");
    }
    void tokenizerVectors() {
        SKIP_WITHOUT_MODEL(testing::gemma3_path());
        QFETCH(QString, inp);
        QFETCH(QString, out);
        const testing::VocabCases cases = testing::read_vocab_cases(inp, out);
        QVERIFY2(cases.problem.isEmpty(), qPrintable(cases.problem));
        QVERIFY(cases.texts.size() >= 30);
        int wrong = 0;
        for (size_t k = 0; k < cases.texts.size(); ++k) {
            const std::vector<int32_t> ids = shipped().tokenize(cases.texts[k], false);
            if (ids == cases.ids[k]) continue;
            if (++wrong <= 5)
                qWarning("text %zu %s: engine %s, sentencepiece %s", k,
                         QByteArray::fromStdString(cases.texts[k]).toPercentEncoding().constData(),
                         qPrintable(QString::number(ids.size())),
                         qPrintable(QString::number(cases.ids[k].size())));
        }
        QCOMPARE(wrong, 0);
        // BOS first when a text starts a sequence, and nothing else changes.
        std::vector<int32_t> with_bos{shipped().bos_id()};
        with_bos.insert(with_bos.end(), cases.ids.back().begin(), cases.ids.back().end());
        QCOMPARE(shipped().tokenize(cases.texts.back(), true), with_bos);
    }

    // User-defined pieces are whole pieces: Gemma 3's runs of spaces (ids 138 to 167) as
    // llama.cpp gives them for "a  b   c    d" (236746, 138, 236763, 139, …: from its
    // llama-tokenize on this file), not a space marker each.
    void userDefinedSpaceRunsAreWholePieces() {
        const std::vector<int32_t> ids = shipped().tokenize("a  b   c    d", false);
        QVERIFY(ids.size() >= 4);
        QCOMPARE(std::vector<int32_t>(ids.begin(), ids.begin() + 4),
                 (std::vector<int32_t>{236746, 138, 236763, 139}));
        QCOMPARE(ids[5], 140);
        // 40 spaces: the longest piece (31 spaces, id 167), then the 9 left (id 145).
        QCOMPARE(shipped().tokenize(std::string(40, ' '), false), (std::vector<int32_t>{167, 145}));
        QCOMPARE(shipped().detokenize(shipped().tokenize("x" + std::string(40, ' ') + "y", false)),
                 "x" + std::string(40, ' ') + "y");
    }

    void tokenizerBooks_data() {
        QTest::addColumn<QString>("book");
        QTest::addColumn<qint64>("bytes");
        QTest::addColumn<qint64>("ids");
        QTest::addColumn<QByteArray>("sha256");
        for (const QByteArray& line :
             QByteArray::fromStdString(testing::read_bytes(data_path("tokenizer-books.txt")))
                 .split('\n')) {
            const QList<QByteArray> f = line.split(' ');
            if (line.startsWith('#') || f.size() != 4) continue;
            QTest::newRow(f[0].constData())
                << QString(f[0]) << f[1].toLongLong() << f[2].toLongLong() << f[3];
        }
    }
    // Whole books in one encode: the ids of the sentencepiece package, and back to the text.
    void tokenizerBooks() {
        SKIP_WITHOUT_SHARED();
        SKIP_WITHOUT_MODEL(testing::gemma3_path());
        QFETCH(QString, book);
        QFETCH(qint64, bytes);
        QFETCH(qint64, ids);
        QFETCH(QByteArray, sha256);
        const std::string text = testing::read_bytes(testing::shared_path("corpus/books/" + book));
        QCOMPARE(qint64(text.size()), bytes);
        QElapsedTimer timer;
        timer.start();
        const std::vector<int32_t> encoded = shipped().tokenize(text, false);
        qInfo("%s: %zu bytes -> %zu ids in %.2f s", qPrintable(book), text.size(), encoded.size(),
              double(timer.elapsed()) / 1e3);
        QCOMPARE(qint64(encoded.size()), ids);
        QByteArray little_endian;
        for (const int32_t id : encoded)
            for (int k = 0; k < 4; ++k) little_endian += char(uint32_t(id) >> (8 * k));
        QCOMPARE(QCryptographicHash::hash(little_endian, QCryptographicHash::Sha256).toHex(),
                 sha256);
        QVERIFY(shipped().detokenize(encoded) == text);
    }

    // The file as shipped (Q5_0/Q4_K/Q6_K matrices, a Q8_0 embedding, F32 norms), with the
    // session's default KV cache.
    void shippedFileMatchesReference_data() { add_settings(); }
    void shippedFileMatchesReference() {
        SKIP_WITHOUT_MODEL(testing::gemma3_path());
        ReferenceLogits ref;
        const QString error = read_current_reference(ref);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QCOMPARE(ref.rows, int(tokens_.size()));
        QCOMPARE(ref.vocab, shipped().info().vocab_size);
        const Agreement agreement = run(shipped(), ref, SessionOptions{}.kv_type);
        qInfo(
            "shipped Q4_K_M, %s: max |delta| / max |logit| = %.3g (full rows), %.3g (top-%d "
            "entries of every row); same top-1 on %.1f %% of rows",
            ref.mode.describe().c_str(), agreement.full_rows_error, agreement.top_entries_error,
            ref.top_k, 100 * agreement.top1);
        QVERIFY2(agreement.error() <= kShippedTolerance,
                 qPrintable(QString::number(agreement.error())));
        QVERIFY2(agreement.top1 >= kShippedTop1, qPrintable(QString::number(agreement.top1)));
    }

    // An F32 copy made by the engine's own quantize function, with an F32 KV cache.
    void f32CopyMatchesReference_data() { add_settings(); }
    void f32CopyMatchesReference() {
        SKIP_WITHOUT_MODEL(testing::gemma3_path());
        ReferenceLogits ref;
        const QString error = read_current_reference(ref);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        const Agreement agreement = run(f32_copy(), ref, KvType::F32);
        qInfo(
            "F32 copy, %s: max |delta| / max |logit| = %.3g (full rows), %.3g (top-%d entries "
            "of every row); same top-1 on %.1f %% of rows",
            ref.mode.describe().c_str(), agreement.full_rows_error, agreement.top_entries_error,
            ref.top_k, 100 * agreement.top1);
        QVERIFY2(agreement.error() <= kF32Tolerance,
                 qPrintable(QString::number(agreement.error())));
        QVERIFY2(agreement.top1 >= kF32Top1, qPrintable(QString::number(agreement.top1)));
    }

    // The last tokens fed one at a time (the decode path: split-K ranges, the local layers'
    // windows cutting inside the cache) give the reference's last row too.
    void decodeMatchesReference() {
        SKIP_WITHOUT_MODEL(testing::gemma3_path());
        ReferenceLogits ref;
        const QString error = read_logits(data_path("logits_g8_w600.bin"), ref);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QCOMPARE(ref.full_rows.back(), ref.rows - 1);
        auto session = f32_copy().new_session({int64_t(tokens_.size()), ref.mode, KvType::F32});
        constexpr size_t kDecoded = 5;
        const std::span<const int32_t> all(tokens_);
        session->prefill(all.first(all.size() - kDecoded));
        for (size_t t = all.size() - kDecoded; t < all.size(); ++t)
            session->prefill(all.subspan(t, 1));
        const std::span<const float> last = session->last_logits();
        const float* expected =
            ref.full_logits.data() + (ref.full_rows.size() - 1) * size_t(ref.vocab);
        double scale = 0, delta = 0;
        for (int v = 0; v < ref.vocab; ++v) {
            scale = std::max(scale, std::abs(double(expected[v])));
            delta = std::max(delta, std::abs(double(last[size_t(v)]) - expected[v]));
        }
        qInfo("decode, %s: last row max |delta| / max |logit| = %.3g", ref.mode.describe().c_str(),
              delta / scale);
        QVERIFY2(delta / scale <= kF32Tolerance, qPrintable(QString::number(delta / scale)));
    }

    // The tolerance tells settings apart: the F32 copy run in vanilla mode must miss the
    // reference of the setting that moves the logits least (G=4 W=1024) by more than
    // kF32Tolerance.
    void toleranceSeparatesSettings() {
        SKIP_WITHOUT_MODEL(testing::gemma3_path());
        ReferenceLogits grouped;
        const QString error = read_logits(data_path("logits_g4_w1024.bin"), grouped);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        ReferenceLogits as_vanilla = grouped;
        as_vanilla.mode = AttentionMode::vanilla();
        const Agreement wrong = run(f32_copy(), as_vanilla, KvType::F32);
        qInfo(
            "F32 copy run vanilla vs the G=4 W=1024 reference: max |delta| / max |logit| = %.3g "
            "(full rows), %.3g (top-8 entries); same top-1 on %.1f %% of rows",
            wrong.full_rows_error, wrong.top_entries_error, 100 * wrong.top1);
        QVERIFY2(wrong.error() > 10 * kF32Tolerance, qPrintable(QString::number(wrong.error())));
    }
};

QTEST_APPLESS_MAIN(TestGemma3)
#include "tst_gemma3.moc"
