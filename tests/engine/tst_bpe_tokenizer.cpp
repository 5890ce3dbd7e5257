// Byte-level BPE: llama.cpp's reference cases for the GPT-2 and StarCoder vocabularies; SmolLM2's
// own vocabulary against ids, book digests and pre-tokenizer cuts made by the PyPI `tokenizers`
// package (tools/reference/gen_bpe_vectors.py); decode inverting encode on any UTF-8; document text
// never becoming control tokens; streaming decode of emoji cut across tokens; the parallel encode
// of long texts giving the ids of a whole-text encode; clear errors for broken vocabularies.
#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QtTest>
#include <algorithm>
#include <cctype>
#include <functional>
#include <random>

#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "selfextend/error.h"
#include "selfextend/tokenizer.h"
#include "test_paths.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/gguf_tokenizer.h"
#include "tokenizer/parallel_encode.h"
#include "tokenizer/pre_tokenizer.h"
#include "utf8_encode.h"
#include "vocab_cases.h"

using namespace selfextend;

namespace {

QByteArray B(std::string_view s) {
    return QByteArray(s.data(), qsizetype(s.size()));
}

QString ids_text(const std::vector<int32_t>& ids) {
    QStringList parts;
    for (const int32_t id : ids) parts << QString::number(id);
    return parts.join(' ');
}

QString shown(const std::string& text) {
    QString s = QString::fromUtf8(B(text).left(60));
    s.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t");
    return s;
}

QString data_path(const QString& name) {
    return QString(SE_SOURCE_DIR) + "/tests/data/tokenizer/" + name;
}

using testing::utf8;

// GPT-2's byte table as its encoder.py builds it: the printable bytes in order, then every other
// byte in order, the latter standing for U+0100, U+0101, ...
std::vector<std::pair<int, uint32_t>> reference_byte_table() {
    std::vector<std::pair<int, uint32_t>> table;
    std::vector<bool> listed(256, false);
    for (auto [from, to] : {std::pair<int, int>{'!', '~'}, std::pair<int, int>{0xA1, 0xAC},
                            std::pair<int, int>{0xAE, 0xFF}})
        for (int b = int(uint8_t(from)); b <= int(uint8_t(to)); ++b) {
            table.emplace_back(b, uint32_t(b));
            listed[size_t(b)] = true;
        }
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b)
        if (!listed[size_t(b)]) table.emplace_back(b, next++);
    return table;
}

// Random valid UTF-8 from every plane, weighted toward what tokenizers distinguish.
std::string random_utf8(std::mt19937& rng, size_t chars) {
    const uint32_t ranges[][2] = {{0x20, 0x7E},       {0x09, 0x0D},        {0x30, 0x39},
                                  {0xA0, 0x2FF},      {0x370, 0x52F},      {0x600, 0x6FF},
                                  {0x900, 0x97F},     {0x2000, 0x206F},    {0x3000, 0x30FF},
                                  {0x4E00, 0x9FFF},   {0xAC00, 0xD7A3},    {0xE000, 0xFFFD},
                                  {0x1F300, 0x1FAFF}, {0x10000, 0x10FFFF}, {0x00, 0x1F}};
    std::string text;
    for (size_t k = 0; k < chars; ++k) {
        const auto& r = ranges[rng() % std::size(ranges)];
        const uint32_t cp = r[0] + rng() % (r[1] - r[0] + 1);
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        text += utf8(cp);
    }
    return text;
}

// What decode(encode(text)) gives: text without the bytes the vocabulary has no token for (both
// reference tokenizers drop them), invalid UTF-8 then shown as U+FFFD.
std::string expected_round_trip(const Tokenizer& t, std::string_view text) {
    std::string kept;
    for (const char c : text)
        if (t.find_token(utf8(byte_level_code_point(uint8_t(c))))) kept += c;
    return replace_invalid_utf8(kept);
}

std::unique_ptr<Tokenizer> load_vocabulary(const QString& path) {
    return tokenizer_from_gguf(GgufFile::open(path.toStdString()));
}

// A GGUF copy of gguf's metadata with some keys replaced, as bytes.
std::vector<uint8_t> with_keys(const GgufFile& gguf,
                               const std::vector<std::pair<std::string, GgufValue>>& changes) {
    GgufWriter writer;
    for (const auto& [key, value] : gguf.metadata()) writer.set(key, value);
    for (const auto& [key, value] : changes) writer.set(key, value);
    return writer.to_bytes();
}

// A small byte-level vocabulary: the 256 byte characters, then the given tokens; merges in rank
// order. Extra keys are set after the defaults (and may replace them).
struct TinyVocabulary {
    std::vector<std::string> tokens;
    std::vector<int32_t> types;
    std::vector<std::string> merges;
    std::string pre = "gpt2";

    TinyVocabulary(const std::vector<std::string>& extra, std::vector<std::string> merge_list)
        : merges(std::move(merge_list)) {
        for (const auto& [byte, cp] : reference_byte_table()) tokens.push_back(utf8(cp));
        for (const std::string& t : extra) tokens.push_back(t);
        types.assign(tokens.size(), 1);
    }
    int32_t id(const std::string& token) const {
        return int32_t(std::find(tokens.begin(), tokens.end(), token) - tokens.begin());
    }
    std::vector<uint8_t> bytes(const std::function<void(GgufWriter&)>& adjust = {}) const {
        GgufWriter w;
        w.set_string("tokenizer.ggml.model", "gpt2");
        w.set_string("tokenizer.ggml.pre", pre);
        w.set_string_array("tokenizer.ggml.tokens", tokens);
        w.set_int32_array("tokenizer.ggml.token_type", types);
        w.set_string_array("tokenizer.ggml.merges", merges);
        if (adjust) adjust(w);
        return w.to_bytes();
    }
};

std::unique_ptr<Tokenizer> tokenizer_of(const std::vector<uint8_t>& bytes) {
    return tokenizer_from_gguf(GgufFile::parse(bytes));
}

}  // namespace

class TestBpeTokenizer : public QObject {
    Q_OBJECT

    std::unique_ptr<Tokenizer> gpt2_, starcoder_, smollm2_;

    void need_gpt2() {
        if (!gpt2_) gpt2_ = load_vocabulary(testing::shared_path("vocab/ggml-vocab-gpt-2.gguf"));
    }
    void need_starcoder() {
        if (!starcoder_)
            starcoder_ = load_vocabulary(testing::shared_path("vocab/ggml-vocab-starcoder.gguf"));
    }
    void need_smollm2() {
        if (!smollm2_) smollm2_ = load_vocabulary(testing::smollm2_path());
    }

    // Compares encode() with every case; decode must give each text back.
    void check_cases(const Tokenizer& t, const testing::VocabCases& cases, const char* what) {
        QVERIFY2(cases.problem.isEmpty(), qPrintable(cases.problem));
        int matched = 0;
        QStringList mismatches;
        for (size_t k = 0; k < cases.texts.size(); ++k) {
            const std::vector<int32_t> ids = t.encode(cases.texts[k], false);
            if (ids == cases.ids[k])
                ++matched;
            else if (mismatches.size() < 8)
                mismatches << QString("case %1 '%2':\n  got  %3\n  want %4")
                                  .arg(k)
                                  .arg(shown(cases.texts[k]), ids_text(ids),
                                       ids_text(cases.ids[k]));
            QCOMPARE(B(t.decode(ids)), B(expected_round_trip(t, cases.texts[k])));
        }
        qInfo("%s: %d/%d cases match", what, matched, int(cases.texts.size()));
        QVERIFY2(mismatches.isEmpty(), qPrintable(mismatches.join("\n")));
    }

  private slots:
    // ----- llama.cpp's reference cases ---------------------------------------------------------

    void referenceCases_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("pre");
        QTest::addColumn<int>("vocab");
        QTest::newRow("gpt-2") << "ggml-vocab-gpt-2.gguf"
                               << "gpt-2" << 50257;
        QTest::newRow("starcoder") << "ggml-vocab-starcoder.gguf"
                                   << "starcoder" << 49152;
    }
    void referenceCases() {
        SKIP_WITHOUT_SHARED();
        QFETCH(QString, file);
        QFETCH(QString, pre);
        QFETCH(int, vocab);
        const auto t = load_vocabulary(testing::shared_path("vocab/" + file));
        QCOMPARE(t->vocab_size(), vocab);
        QCOMPARE(QString::fromUtf8(B(t->pre_tokenizer_name())), pre);
        QCOMPARE(QString::fromUtf8(B(t->kind_name())), QString("byte-level BPE"));
        QVERIFY(!t->adds_space_prefix());
        QVERIFY(!t->adds_bos());
        const auto cases =
            testing::read_vocab_cases(testing::shared_path("vocab/" + file + ".inp"),
                                      testing::shared_path("vocab/" + file + ".out"));
        QCOMPARE(cases.texts.size(), size_t(46));
        check_cases(*t, cases, qPrintable(file));
    }

    // ----- SmolLM2's vocabulary against Hugging Face tokenizers --------------------------------

    void smollm2Facts() {
        SKIP_WITHOUT_MODEL(testing::smollm2_path());
        need_smollm2();
        const Tokenizer& t = *smollm2_;
        QCOMPARE(t.vocab_size(), 49152);
        QCOMPARE(t.bos_id(), 1);
        QCOMPARE(t.eos_id(), 2);
        QVERIFY(!t.adds_bos());
        QVERIFY(!t.adds_space_prefix());
        QCOMPARE(QString::fromUtf8(B(t.pre_tokenizer_name())), QString("smollm"));
        QCOMPARE(t.find_token("<|im_start|>"), std::optional<int32_t>(1));
        QCOMPARE(t.find_token("<|im_end|>"), std::optional<int32_t>(2));
        QCOMPARE(t.find_token("<|endoftext|>"), std::optional<int32_t>(0));
        QCOMPARE(t.kind(1), PieceKind::Control);
        QCOMPARE(t.kind(2), PieceKind::Control);
        QVERIFY(!t.find_token("<|im_start|> "));
        QVERIFY(!t.find_token(""));
        QVERIFY(!t.find_token("definitely not a token"));
        const auto the = t.find_token("\xC4\xA0the");  // "Ġthe"
        QVERIFY(the);
        QCOMPARE(t.piece(*the), std::string("\xC4\xA0the"));
        QCOMPARE(t.kind(*the), PieceKind::Normal);
        QCOMPARE(B(t.token_bytes(*the)), QByteArray(" the"));
        QCOMPARE(B(t.token_bytes(*t.find_token("\xC4\x8A"))), QByteArray("\n"));  // "Ċ"
        QCOMPARE(B(t.token_bytes(1)), QByteArray());  // control: nothing
        QCOMPARE(B(t.token_bytes(-1)), QByteArray());
        QCOMPARE(B(t.token_bytes(49152)), QByteArray());
        // SmolLM2 starts sequences without BOS (add_bos_token = false): none at the start either.
        QVERIFY(!t.adds_bos());
        QCOMPARE(t.encode("", true), std::vector<int32_t>{});
        QCOMPARE(t.encode("Hi", true), t.encode("Hi", false));
    }

    void smollm2Vectors() {
        SKIP_WITHOUT_MODEL(testing::smollm2_path());
        need_smollm2();
        const auto cases = testing::read_vocab_cases(data_path("smollm2-vectors.inp"),
                                                     data_path("smollm2-vectors.out"));
        QVERIFY(cases.texts.size() >= 100);
        check_cases(*smollm2_, cases, "SmolLM2 vectors");
    }

    void smollm2Books_data() {
        QTest::addColumn<QString>("book");
        QTest::addColumn<qint64>("bytes");
        QTest::addColumn<qint64>("ids");
        QTest::addColumn<QByteArray>("sha256");
        for (const QByteArray& line :
             QByteArray::fromStdString(testing::read_bytes(data_path("smollm2-books.txt")))
                 .split('\n')) {
            const QList<QByteArray> f = line.split(' ');
            if (line.startsWith('#') || f.size() != 4) continue;
            QTest::newRow(f[0].constData())
                << QString(f[0]) << f[1].toLongLong() << f[2].toLongLong() << f[3];
        }
    }
    // Whole books take the parallel path: the ids must be those of Hugging Face's whole-text
    // encode. Throughput is printed, not asserted.
    void smollm2Books() {
        SKIP_WITHOUT_SHARED();
        SKIP_WITHOUT_MODEL(testing::smollm2_path());
        QFETCH(QString, book);
        QFETCH(qint64, bytes);
        QFETCH(qint64, ids);
        QFETCH(QByteArray, sha256);
        need_smollm2();
        const std::string text = testing::read_bytes(testing::shared_path("corpus/books/" + book));
        QCOMPARE(qint64(text.size()), bytes);
        QElapsedTimer timer;
        timer.start();
        const std::vector<int32_t> encoded = smollm2_->encode(text, false);
        const double seconds = double(timer.nsecsElapsed()) / 1e9;
        qInfo("%s: %zu bytes -> %zu ids in %.3f s: %.1f MB/s", qPrintable(book), text.size(),
              encoded.size(), seconds, double(text.size()) / 1e6 / seconds);
        QCOMPARE(qint64(encoded.size()), ids);
        QByteArray little_endian;
        for (const int32_t id : encoded)
            for (int k = 0; k < 4; ++k) little_endian += char(uint32_t(id) >> (8 * k));
        QCOMPARE(QCryptographicHash::hash(little_endian, QCryptographicHash::Sha256).toHex(),
                 sha256);
        QCOMPARE(B(smollm2_->decode(encoded)), B(text));
    }

    // ----- the pre-tokenizers' cuts against Hugging Face tokenizers ----------------------------

    void preTokenizerCuts_data() {
        QTest::addColumn<QString>("name");
        for (const char* name : {"gpt2", "smollm", "llama3", "qwen2"}) QTest::newRow(name) << name;
    }
    void preTokenizerCuts() {
        QFETCH(QString, name);
        QString problem;
        const std::vector<std::string> texts =
            testing::read_case_texts(data_path("smollm2-vectors.inp"), &problem);
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        const auto lengths = testing::read_number_lines(data_path("pre-tokens-" + name + ".out"));
        QCOMPARE(lengths.size(), texts.size());
        const PreTokenizer pre = PreTokenizer::named(name.toStdString());
        PreTokenizer::Scratch scratch(pre);
        QStringList mismatches;
        for (size_t k = 0; k < texts.size(); ++k) {
            std::vector<std::string_view> pieces;
            pre.split(texts[k], scratch, pieces);
            std::vector<int32_t> got;
            size_t at = 0;
            for (const std::string_view piece : pieces) {
                QVERIFY(piece.data() == texts[k].data() + at);  // in order, nothing skipped
                at += piece.size();
                got.push_back(int32_t(piece.size()));
            }
            QCOMPARE(at, texts[k].size());
            if (got != lengths[k] && mismatches.size() < 5)
                mismatches << QString("case %1 '%2':\n  got  %3\n  want %4")
                                  .arg(k)
                                  .arg(shown(texts[k]), ids_text(got), ids_text(lengths[k]));
        }
        QVERIFY2(mismatches.isEmpty(), qPrintable(mismatches.join("\n")));
    }

    void preTokenizerNames() {
        for (const char* name :
             {"gpt2", "gpt-2", "smollm", "starcoder", "refact", "llama-bpe", "llama3", "qwen2"})
            QCOMPARE(QString::fromStdString(PreTokenizer::named(name).name()), QString(name));
        QCOMPARE(QString::fromStdString(PreTokenizer::named("").name()), QString("gpt2"));
        QVERIFY(PreTokenizer::named("llama-bpe").ignore_merges());
        QVERIFY(!PreTokenizer::named("qwen2").ignore_merges());
        const QString error = testing::error_of([] { PreTokenizer::named("frobnicate"); });
        QVERIFY2(error.contains("'frobnicate'") && error.contains("smollm") &&
                     error.contains("qwen2") && error.contains("llama-bpe"),
                 qPrintable(error));
        // \s and \S are spelled out as Unicode White_Space; an escaped backslash stays as it is.
        const std::string spelled = with_unicode_white_space(R"(\s+(?!\S)|[^\s\p{L}]|\\s)");
        QVERIFY(spelled.ends_with(R"(\p{L}]|\\s)"));
        const std::string head = spelled.substr(0, spelled.size() - 3);
        QVERIFY(head.find("\\s") == std::string::npos && head.find("\\S") == std::string::npos);
        QVERIFY(head.find("\\x{3000}") != std::string::npos);
        QVERIFY(head.find("180E") == std::string::npos);
        QVERIFY(spelled.starts_with("[\\t"));
    }

    // ----- decode inverts encode ---------------------------------------------------------------

    void roundTripArbitraryUtf8() {
        SKIP_WITHOUT_SHARED();
        need_gpt2();
        need_starcoder();
        // GPT-2's vocabulary with Llama 3's and Qwen2's pre-tokenizers too.
        const GgufFile gpt2 =
            GgufFile::open(testing::shared_path("vocab/ggml-vocab-gpt-2.gguf").toStdString());
        const auto llama3 =
            tokenizer_of(with_keys(gpt2, {{"tokenizer.ggml.pre", gguf_string("llama-bpe")}}));
        const auto qwen2 =
            tokenizer_of(with_keys(gpt2, {{"tokenizer.ggml.pre", gguf_string("qwen2")}}));
        std::vector<const Tokenizer*> all = {gpt2_.get(), starcoder_.get(), llama3.get(),
                                             qwen2.get()};
        if (QFileInfo::exists(testing::smollm2_path())) {
            need_smollm2();
            all.push_back(smollm2_.get());
        }
        std::mt19937 rng(42);
        int checked = 0, lossless = 0;
        for (int round = 0; round < 300; ++round) {
            const std::string text = random_utf8(rng, 1 + rng() % 200);
            for (const Tokenizer* t : all) {
                const std::vector<int32_t> ids = t->encode(text, false);
                QCOMPARE(B(t->decode(ids)), B(expected_round_trip(*t, text)));
                lossless += expected_round_trip(*t, text) == text;
                for (const int32_t id : ids) QVERIFY(t->kind(id) != PieceKind::Control);
                ++checked;
            }
        }
        // Long runs of one kind of character: one huge pre-token, merged in O(n log n).
        for (const std::string& text :
             {std::string(200000, ' '), std::string(200000, 'a'), std::string(100000, '7'),
              std::string(100000, '\n'), std::string(50000, '!') + std::string(50000, '\t')})
            for (const Tokenizer* t : all) {
                QCOMPARE(B(t->decode(t->encode(text, false))), B(text));
                ++checked;
            }
        qInfo("round trips checked: %d (%d with every byte in the vocabulary)", checked, lossless);
        QVERIFY(lossless > 300);
    }

    // Byte-level BPE keeps any bytes its vocabulary has (GPT-2's has all 256); decode shows
    // invalid UTF-8 as U+FFFD. StarCoder's lacks bytes like FF that UTF-8 never holds: dropped.
    void invalidUtf8IsKeptAsBytes() {
        SKIP_WITHOUT_SHARED();
        need_gpt2();
        need_starcoder();
        for (const std::string& text :
             {std::string("\xFF\xFE abc \xC3"), std::string("ok \xE2\x82 cut"),
              std::string("\xED\xA0\x80 surrogate 12\xC0\xAF"), std::string(1, '\x80')}) {
            for (const Tokenizer* t : {gpt2_.get(), starcoder_.get()}) {
                const std::vector<int32_t> ids = t->encode(text, false);
                std::string bytes;
                for (const int32_t id : ids) bytes += t->token_bytes(id);
                if (t == gpt2_.get()) QCOMPARE(B(bytes), B(text));
                QCOMPARE(B(t->decode(ids)), B(expected_round_trip(*t, text)));
            }
        }
        QCOMPARE(B(starcoder_->decode(starcoder_->encode("a\xFF"
                                                         "b",
                                                         false))),
                 QByteArray("ab"));
    }

    void byteTable() {
        for (const auto& [byte, cp] : reference_byte_table())
            QCOMPARE(byte_level_code_point(uint8_t(byte)), cp);
        QCOMPARE(byte_level_code_point(' '), uint32_t(0x120));   // "Ġ"
        QCOMPARE(byte_level_code_point('\n'), uint32_t(0x10A));  // "Ċ"
        SKIP_WITHOUT_SHARED();
        need_gpt2();
        // GPT-2's vocabulary begins with the byte characters in the table's order.
        const auto table = reference_byte_table();
        for (size_t k = 0; k < table.size(); ++k) {
            QCOMPARE(B(gpt2_->piece(int32_t(k))), B(utf8(table[k].second)));
            QCOMPARE(B(gpt2_->token_bytes(int32_t(k))), B(std::string(1, char(table[k].first))));
        }
    }

    // ----- document text is plain text ---------------------------------------------------------

    void controlTokensNeverComeFromText() {
        SKIP_WITHOUT_SHARED();
        need_starcoder();
        std::vector<std::pair<const Tokenizer*, std::string>> checks = {
            {starcoder_.get(), "<fim_prefix>def f():<fim_suffix>\n<fim_middle><|endoftext|>"},
            {starcoder_.get(), "<|endoftext|>"}};
        QCOMPARE(starcoder_->find_token("<fim_prefix>"), std::optional<int32_t>(1));
        if (QFileInfo::exists(testing::smollm2_path())) {
            need_smollm2();
            checks.push_back({smollm2_.get(), "<|im_start|>user\nHello<|im_end|>\n"});
            checks.push_back({smollm2_.get(), "<|im_start|>"});
        }
        for (const auto& [t, text] : checks) {
            const std::vector<int32_t> ids = t->encode(text, false);
            QVERIFY(ids.size() > 1);
            for (const int32_t id : ids)
                QVERIFY2(
                    t->kind(id) != PieceKind::Control,
                    qPrintable(QString("'%1' gave control token %2").arg(shown(text)).arg(id)));
            QCOMPARE(B(t->decode(ids)), B(text));
        }
    }

    // ----- streaming decode --------------------------------------------------------------------

    void streamDecoderHoldsBackSplitEmoji() {
        SKIP_WITHOUT_SHARED();
        need_starcoder();
        std::vector<const Tokenizer*> all = {starcoder_.get()};
        if (QFileInfo::exists(testing::smollm2_path())) {
            need_smollm2();
            all.push_back(smollm2_.get());
        }
        const std::string text =
            "family \xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7 flag "
            "\xF0\x9F\x8F\xB3\xEF\xB8\x8F\xE2\x80\x8D\xF0\x9F\x8C\x88 \xF0\x9F\xA6\x99 ok";
        for (const Tokenizer* t : all) {
            const std::vector<int32_t> ids = t->encode(text, false);
            StreamDecoder decoder(*t, true);
            std::string streamed;
            int partial_tokens = 0, held_back = 0;
            for (const int32_t id : ids) {
                const std::string bytes = t->token_bytes(id);
                partial_tokens += !is_valid_utf8(bytes);
                const std::string part = decoder.push(id);
                QVERIFY2(is_valid_utf8(part), qPrintable(QString("token %1").arg(id)));
                held_back += part.size() < bytes.size();
                streamed += part;
            }
            QCOMPARE(B(decoder.flush()), QByteArray());
            QCOMPARE(B(streamed), B(text));
            QVERIFY(partial_tokens >= 2);  // emoji really are cut across tokens
            QVERIFY(held_back >= 1);
        }
    }

    // ----- the parallel encode ----------------------------------------------------------------

    // The cut rule of the parallel encode, checked on its own: wherever a pre-tokenizer allows a
    // cut near a newline, encoding the two sides apart gives the ids of encoding them together.
    // On a book with LF line ends, one with CRLF, and hand-made neighbourhoods, for every
    // supported pre-tokenizer (on GPT-2's vocabulary).
    void parallelCutsAreSafe() {
        SKIP_WITHOUT_SHARED();
        const GgufFile gpt2 =
            GgufFile::open(testing::shared_path("vocab/ggml-vocab-gpt-2.gguf").toStdString());
        std::string text =
            testing::read_bytes(testing::shared_path("corpus/books/middlemarch.txt"))
                .substr(100000, 150000) +
            testing::read_bytes(testing::shared_path("corpus/books/pg2600_war_and_peace.txt"))
                .substr(100000, 150000);
        QVERIFY(text.find("\r\n") != std::string::npos);
        const std::string hard =
            "x \nA\n\nB.\nC'\nd1\ne)\nf\t\nG:\r\nH \xC2\xA0\nI\r\nJ.\r\nK'\r\nl7\r\nm \r\nN\r\r\nO";
        text += hard;
        int checked = 0, cuts = 0;
        for (const char* name : {"gpt2", "smollm", "llama-bpe", "qwen2"}) {
            const PreTokenizer pre = PreTokenizer::named(name);
            const auto t =
                tokenizer_of(with_keys(gpt2, {{"tokenizer.ggml.pre", gguf_string(name)}}));
            for (size_t newline = text.find('\n'); newline != std::string::npos;
                 newline = text.find('\n', newline + 1)) {
                const std::optional<size_t> cut = pre.safe_cut(text, newline);
                if (!cut) continue;
                QVERIFY(*cut == newline || *cut == newline + 1);
                const bool in_hard = newline >= text.size() - hard.size();
                if (++cuts % 5 != 0 && !in_hard) continue;  // a sample of the books
                ++checked;
                const size_t from = *cut < 300 ? 0 : *cut - 300;
                const std::string left = text.substr(from, *cut - from);
                const std::string right = text.substr(*cut, 300);
                std::vector<int32_t> apart = t->encode(left, false);
                const std::vector<int32_t> rest = t->encode(right, false);
                apart.insert(apart.end(), rest.begin(), rest.end());
                QVERIFY2(apart == t->encode(left + right, false),
                         qPrintable(QString("%1: cut at %2 before '%3'")
                                        .arg(name)
                                        .arg(*cut)
                                        .arg(shown(text.substr(*cut, 10)))));
            }
        }
        qInfo("cuts checked: %d of %d", checked, cuts);
        QVERIFY(checked > 1000);
        // The rule is needed: GPT-2 cuts "x\r\nThe" as "x", "\r", "\n", "The" but "x\r\n" alone
        // as "x", "\r\n"; Llama 3 keeps "\r\n" whole.
        const PreTokenizer gpt2_pre = PreTokenizer::named("gpt2");
        const PreTokenizer llama_pre = PreTokenizer::named("llama-bpe");
        QCOMPARE(gpt2_pre.safe_cut("x\r\nThe", 2), std::optional<size_t>(2));
        QCOMPARE(llama_pre.safe_cut("x\r\nThe", 2), std::optional<size_t>(3));
        auto pieces = [](const PreTokenizer& pre, std::string_view s) {
            PreTokenizer::Scratch scratch(pre);
            std::vector<std::string_view> out;
            pre.split(s, scratch, out);
            return std::vector<std::string>(out.begin(), out.end());
        };
        QCOMPARE(pieces(gpt2_pre, "x\r\nThe"), (std::vector<std::string>{"x", "\r", "\n", "The"}));
        QCOMPARE(pieces(gpt2_pre, "x\r\n"), (std::vector<std::string>{"x", "\r\n"}));
        QCOMPARE(pieces(llama_pre, "x\r\nThe"), (std::vector<std::string>{"x", "\r\n", "The"}));
        for (const std::string_view refused :
             {"x \nThe", "x\n The", "x\n\nThe", "x\n7", "\xC3\xA9\nThe", "x \r\nThe", "\nThe"})
            QVERIFY2(!gpt2_pre.safe_cut(refused, refused.find('\n')),
                     qPrintable(shown(std::string(refused))));
    }

    // A long text takes the parallel path (when there are several cores): its ids are those of
    // its pieces encoded one by one below the parallel threshold.
    void longTextsEncodeAsWholes() {
        SKIP_WITHOUT_SHARED();
        need_starcoder();
        std::mt19937 rng(5);
        std::string text;
        while (text.size() < 600000) {
            text += random_utf8(rng, 40);
            text += rng() % 3 == 0 ? ".\nThe " : rng() % 2 ? "\n" : ".\r\nAnd ";
        }
        const std::vector<int32_t> whole = starcoder_->encode(text, false);
        // Cut the same text into pieces below the threshold, elsewhere than the engine would.
        const PreTokenizer pre = PreTokenizer::named("starcoder");
        std::vector<int32_t> pieces;
        size_t start = 0;
        while (start < text.size()) {
            size_t end = text.size();
            for (size_t newline = text.find('\n', start + 77777); newline != std::string::npos;
                 newline = text.find('\n', newline + 1))
                if (const auto cut = pre.safe_cut(text, newline)) {
                    end = *cut;
                    break;
                }
            QVERIFY(end - start < kParallelEncodeBytes);
            const std::vector<int32_t> part =
                starcoder_->encode(std::string_view(text).substr(start, end - start), false);
            pieces.insert(pieces.end(), part.begin(), part.end());
            start = end;
        }
        QCOMPARE(whole.size(), pieces.size());
        QVERIFY(whole == pieces);
        QCOMPARE(B(starcoder_->decode(whole)), B(expected_round_trip(*starcoder_, text)));
    }

    // ----- merges on a vocabulary small enough to reason about --------------------------------

    void mergeOrder() {
        TinyVocabulary v({"ab", "bc", "aa", "abc", "xyz", "\xC4\xA0t", "he", "\xC4\xA0the"},
                         {"b c", "a b", "a a", "\xC4\xA0 t", "h e", "\xC4\xA0t he"});
        const auto t = tokenizer_of(v.bytes());
        // The lowest rank first: "b c" (0) wins over "a b" (1), and no merge joins "a" to "bc".
        QCOMPARE(t->encode("abc", false), (std::vector<int32_t>{v.id("a"), v.id("bc")}));
        // Equal ranks: the leftmost first.
        QCOMPARE(t->encode("aaa", false), (std::vector<int32_t>{v.id("aa"), v.id("a")}));
        QCOMPARE(t->encode(" the", false), std::vector<int32_t>{v.id("\xC4\xA0the")});
        // No merge makes "xyz"; Llama 3's pre-tokenizer takes whole vocabulary entries as they are.
        QCOMPARE(t->encode("xyz", false), (std::vector<int32_t>{v.id("x"), v.id("y"), v.id("z")}));
        TinyVocabulary llama = v;
        llama.pre = "llama-bpe";
        QCOMPARE(tokenizer_of(llama.bytes())->encode("xyz", false),
                 std::vector<int32_t>{v.id("xyz")});
        // BOS and EOS as the file asks.
        const auto with_bos = tokenizer_of(v.bytes([&](GgufWriter& w) {
            w.set_uint32("tokenizer.ggml.bos_token_id", uint32_t(v.id("he")));
            w.set_uint32("tokenizer.ggml.eos_token_id", uint32_t(v.id("ab")));
            w.set_bool("tokenizer.ggml.add_bos_token", true);
        }));
        QVERIFY(with_bos->adds_bos());
        QCOMPARE(with_bos->encode("he", true), (std::vector<int32_t>{v.id("he"), v.id("he")}));
        QCOMPARE(with_bos->eos_id(), v.id("ab"));
    }

    // A merge that would spell a control token is never applied.
    void mergesNeverMakeControlTokens() {
        TinyVocabulary v({"<|", "|>", "<||>"}, {"< |", "| >", "<| |>"});
        v.types.back() = 3;  // "<||>" is a control token
        const auto t = tokenizer_of(v.bytes());
        QCOMPARE(t->find_token("<||>"), std::optional<int32_t>(v.id("<||>")));
        QCOMPARE(t->encode("<||>", false), (std::vector<int32_t>{v.id("<|"), v.id("|>")}));
        // The same vocabulary with "<||>" a normal token merges all the way.
        v.types.back() = 1;
        QCOMPARE(tokenizer_of(v.bytes())->encode("<||>", false),
                 std::vector<int32_t>{v.id("<||>")});
    }

    // ----- broken vocabularies: a clear Error, never a crash ----------------------------------

    void brokenVocabularies_data() {
        QTest::addColumn<QString>("problem");
        QTest::addColumn<QString>("expected");
        QTest::newRow("merge of an unknown token") << "unknown-left"
                                                   << "'qq', not in the vocabulary";
        QTest::newRow("merge of an unknown right") << "unknown-right"
                                                   << "'zz', not in the vocabulary";
        QTest::newRow("merge result unknown") << "unknown-result"
                                              << "not in the vocabulary";
        QTest::newRow("merges missing") << "no-merges"
                                        << "missing 'tokenizer.ggml.merges'";
        QTest::newRow("merges not strings") << "int-merges"
                                            << "'tokenizer.ggml.merges' is not";
        QTest::newRow("merge without a space") << "no-space"
                                               << "is not two tokens separated";
        QTest::newRow("merge ending in a space") << "trailing-space"
                                                 << "is not two tokens";
        QTest::newRow("unknown pre-tokenizer") << "unknown-pre"
                                               << "'frobnicate' is not supported";
        QTest::newRow("token_type too short") << "short-types"
                                              << "'tokenizer.ggml.token_type' has";
        QTest::newRow("bos out of range") << "bos"
                                          << "'tokenizer.ggml.bos_token_id' = 999";
        QTest::newRow("eos out of range") << "eos"
                                          << "'tokenizer.ggml.eos_token_id' = -7";
        QTest::newRow("tokens missing") << "no-tokens"
                                        << "missing 'tokenizer.ggml.tokens'";
        QTest::newRow("empty vocabulary") << "empty"
                                          << "empty vocabulary";
        QTest::newRow("a byte missing") << "no-byte"
                                        << "no token for byte 0x41";
        QTest::newRow("unknown model") << "model"
                                       << "'wordpiece' is not supported";
    }
    void brokenVocabularies() {
        QFETCH(QString, problem);
        QFETCH(QString, expected);
        TinyVocabulary v({"ab"}, {"a b"});
        std::function<void(GgufWriter&)> adjust;
        const std::string p = problem.toStdString();
        if (p == "unknown-left") v.merges.push_back("qq b");
        if (p == "unknown-right") v.merges.push_back("a zz");
        if (p == "unknown-result") v.merges.push_back("b a");
        if (p == "no-space") v.merges.push_back("ab");
        if (p == "trailing-space") v.merges.push_back("ab ");
        if (p == "unknown-pre") v.pre = "frobnicate";
        if (p == "short-types") v.types.pop_back();
        if (p == "no-byte") v.tokens[v.id("A")] = "A-not-a-byte";
        adjust = [&](GgufWriter& w) {
            if (p == "no-merges" || p == "int-merges") {
                // GgufWriter keeps keys in order; rebuild without merges.
                GgufWriter fresh;
                fresh.set_string("tokenizer.ggml.model", "gpt2");
                fresh.set_string_array("tokenizer.ggml.tokens", v.tokens);
                if (p == "int-merges") fresh.set_int32_array("tokenizer.ggml.merges", {1, 2});
                w = fresh;
            }
            if (p == "bos") w.set_uint32("tokenizer.ggml.bos_token_id", 999);
            if (p == "eos") w.set_int32("tokenizer.ggml.eos_token_id", -7);
            if (p == "no-tokens") {
                GgufWriter fresh;
                fresh.set_string("tokenizer.ggml.model", "gpt2");
                w = fresh;
            }
            if (p == "empty") w.set_string_array("tokenizer.ggml.tokens", {});
            if (p == "model") w.set_string("tokenizer.ggml.model", "wordpiece");
        };
        const std::vector<uint8_t> bytes = v.bytes(adjust);
        const QString error = testing::error_of([&] { tokenizer_of(bytes); });
        QVERIFY2(error.contains(expected), qPrintable("got: '" + error + "'"));
        QCOMPARE(error.count('\n'), 0);
        // Loaded through the public entry point too.
        QTemporaryDir dir;
        const QString path = dir.path() + "/broken.gguf";
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(reinterpret_cast<const char*>(bytes.data()), qint64(bytes.size()));
        f.close();
        QVERIFY(testing::error_of([&] {
                    load_gguf_vocabulary(path.toStdString());
                }).contains(expected));
    }

    void vocabularyOnlyFiles() {
        SKIP_WITHOUT_SHARED();
        const GgufVocabulary v =
            load_gguf_vocabulary(testing::shared_path("vocab/ggml-vocab-gpt-2.gguf").toStdString());
        QVERIFY(v.vocabulary_only);
        QCOMPARE(v.tokenizer->vocab_size(), 50257);
        QCOMPARE(v.tokenizer->bos_id(), 50256);
        QCOMPARE(v.tokenizer->eos_id(), 50256);
        const GgufVocabulary demo = load_gguf_vocabulary(testing::demo_model_path().toStdString());
        QVERIFY(!demo.vocabulary_only);
        QCOMPARE(QString::fromUtf8(B(demo.tokenizer->kind_name())), QString("SentencePiece"));
        QCOMPARE(QString::fromUtf8(B(demo.tokenizer->pre_tokenizer_name())), QString());
    }
};

QTEST_APPLESS_MAIN(TestBpeTokenizer)
#include "tst_bpe_tokenizer.moc"
