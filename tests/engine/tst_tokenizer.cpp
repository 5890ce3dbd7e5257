// Tokenization: the Llama SentencePiece vocabulary read from a GGUF reproduces llama.cpp's
// reference ids case for case; the demo model's GGUF vocabulary tokenizes books exactly as its
// tokenizer.model does; decode inverts encode; the streaming decoder never emits half a
// character; the UTF-8 helpers agree with a decoder written here from the Unicode tables.
#include <QFile>
#include <QtTest>
#include <algorithm>
#include <cstdio>
#include <random>

#include "gguf/gguf_file.h"
#include "selfextend/error.h"
#include "selfextend/tokenizer.h"
#include "test_paths.h"
#include "tokenizer/gguf_tokenizer.h"
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

// ----- an independent UTF-8 decoder (Unicode 15, table 3-7) -----------------------------------

// Length of the valid sequence starting at s[i], 0 if none starts there.
int ref_sequence(std::string_view s, size_t i) {
    const auto b = uint8_t(s[i]);
    if (b < 0x80) return 1;
    int length;
    uint32_t cp, minimum;
    if ((b & 0xE0) == 0xC0) {
        length = 2, cp = b & 0x1F, minimum = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
        length = 3, cp = b & 0x0F, minimum = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
        length = 4, cp = b & 0x07, minimum = 0x10000;
    } else {
        return 0;
    }
    if (i + size_t(length) > s.size()) return 0;
    for (int k = 1; k < length; ++k) {
        const auto c = uint8_t(s[i + size_t(k)]);
        if ((c & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (c & 0x3F);
    }
    if (cp < minimum || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return length;
}

bool ref_valid(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        const int n = ref_sequence(s, i);
        if (n == 0) return false;
        i += size_t(n);
    }
    return true;
}

// The valid characters of s in order, and how many bytes are not part of one.
std::pair<std::string, int> ref_valid_chars(std::string_view s) {
    std::string out;
    int bad = 0;
    for (size_t i = 0; i < s.size();) {
        const int n = ref_sequence(s, i);
        if (n == 0) {
            ++bad;
            ++i;
        } else {
            out.append(s.substr(i, size_t(n)));
            i += size_t(n);
        }
    }
    return {out, bad};
}

using testing::utf8;

const std::string kReplacement = "\xEF\xBF\xBD";

int count_of(const std::string& text, const std::string& needle) {
    int n = 0;
    for (size_t at = text.find(needle); at != std::string::npos;
         at = text.find(needle, at + needle.size()))
        ++n;
    return n;
}

std::string remove_all(std::string text, const std::string& needle) {
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at))
        text.erase(at, needle.size());
    return text;
}

// A slice of a book starting and ending on character boundaries.
std::string slice(const std::string& text, size_t from, size_t bytes) {
    auto boundary = [&](size_t at) {
        while (at < text.size() && (uint8_t(text[at]) & 0xC0) == 0x80) ++at;
        return std::min(at, text.size());
    };
    const size_t begin = boundary(from);
    const size_t end = boundary(std::min(text.size(), begin + bytes));
    return text.substr(begin, end - begin);
}

const std::vector<std::string> kTricky = {
    "",
    " ",
    "   ",
    "Hello world",
    " leading space",
    "  two leading spaces",
    "multiple     spaces   inside",
    "trailing spaces   ",
    "\n",
    "\n\nnew\nlines\n\n",
    "\ttabs\tand\t\ttabs",
    "\r\nwindows\r\nline ends\r\n",
    "emoji 😀🚀 👨‍👩‍👧 ❤️ 🇳🇴",
    "CJK 中文字符 日本語のテキスト 한국어",
    "Ünïcödé àccénts — “quotes” … ½",
    "Ελληνικά и русский текст",
    "rare: \xE0\xBC\x80 \xF0\x9D\x84\x9E \xF0\x90\x8D\x88 \xE1\x9A\xA0",  // Tibetan, music, Gothic,
                                                                          // runic
    "digits 3.14159 2026-08-01 38117",
    "code: if (x < 10) { return y[2] * 3; }",
    " 🙂",
    "\xF0\x9F\x99\x82 at start",
};

}  // namespace

class TestTokenizer : public QObject {
    Q_OBJECT

    std::unique_ptr<Tokenizer> llama_;  // ggml-vocab-llama-spm.gguf
    std::unique_ptr<Tokenizer> demo_;   // the demo model's GGUF vocabulary
    std::unique_ptr<Tokenizer> model_;  // shared models/tokenizer.model

    void need_llama() {
        if (!llama_)
            llama_ = tokenizer_from_gguf(GgufFile::open(
                testing::shared_path("vocab/ggml-vocab-llama-spm.gguf").toStdString()));
    }
    void need_demo() {
        if (!demo_)
            demo_ = tokenizer_from_gguf(GgufFile::open(testing::demo_model_path().toStdString()));
        if (!model_)
            model_ = Tokenizer::from_sentencepiece_file(
                testing::shared_path("models/tokenizer.model").toStdString());
    }
    int32_t id_of_piece(const Tokenizer& t, const std::string& piece) {
        for (int32_t id = 0; id < t.vocab_size(); ++id)
            if (t.piece(id) == piece) return id;
        return -1;
    }

  private slots:
    // ----- (a) llama.cpp's reference cases -----------------------------------------------------

    void llamaSpmReferenceCases() {
        SKIP_WITHOUT_SHARED();
        need_llama();
        QCOMPARE(llama_->vocab_size(), 32000);
        QCOMPARE(llama_->bos_id(), 1);
        QCOMPARE(llama_->eos_id(), 2);
        QCOMPARE(llama_->unk_id(), 0);
        QVERIFY(llama_->adds_bos());
        QVERIFY(llama_->adds_space_prefix());
        QCOMPARE(B(llama_->piece(29871)), QByteArray("\xE2\x96\x81"));
        QCOMPARE(B(llama_->piece(13)), QByteArray("<0x0A>"));
        QCOMPARE(llama_->kind(13), PieceKind::Byte);
        QCOMPARE(llama_->kind(1), PieceKind::Control);
        QCOMPARE(llama_->kind(0), PieceKind::Unknown);
        QCOMPARE(llama_->kind(15043), PieceKind::Normal);

        // Cases are the texts between lines "__ggml_vocab_test__" (see vocab_cases.h).
        const testing::VocabCases vocab_cases =
            testing::read_vocab_cases(testing::shared_path("vocab/ggml-vocab-llama-spm.gguf.inp"),
                                      testing::shared_path("vocab/ggml-vocab-llama-spm.gguf.out"));
        QVERIFY2(vocab_cases.problem.isEmpty(), qPrintable(vocab_cases.problem));
        const std::vector<std::string>& cases = vocab_cases.texts;
        const std::vector<std::vector<int32_t>>& expected = vocab_cases.ids;
        QCOMPARE(cases.size(), size_t(46));
        QCOMPARE(expected.size(), cases.size());
        // Spot checks of the split: empty, one space, one newline, "\t\n".
        QCOMPARE(B(cases[2]), QByteArray(""));
        QCOMPARE(B(cases[3]), QByteArray(" "));
        QCOMPARE(B(cases[7]), QByteArray("\n"));
        QCOMPARE(B(cases[10]), QByteArray("\t\n"));

        int matched = 0;
        QStringList mismatches;
        for (size_t k = 0; k < cases.size(); ++k) {
            const std::vector<int32_t> ids = llama_->encode(cases[k], false);
            if (ids == expected[k])
                ++matched;
            else
                mismatches << QString("case %1 '%2':\n  got  %3\n  want %4")
                                  .arg(k)
                                  .arg(QString::fromStdString(cases[k]), ids_text(ids),
                                       ids_text(expected[k]));
        }
        qInfo("llama-spm reference cases: %d/%d match", matched, int(cases.size()));
        QVERIFY2(mismatches.isEmpty(), qPrintable(mismatches.join("\n")));
        QCOMPARE(matched, int(cases.size()));

        // With BOS.
        const std::vector<int32_t> with_bos = llama_->encode("Hello world", true);
        QCOMPARE(ids_text(with_bos), QString("1 15043 3186"));
    }

    // ----- (b) the demo model's vocabulary -----------------------------------------------------

    void demoGgufVocabularyEqualsTokenizerModel() {
        SKIP_WITHOUT_SHARED();
        need_demo();
        QCOMPARE(demo_->vocab_size(), 4096);
        QCOMPARE(model_->vocab_size(), 4096);
        QCOMPARE(demo_->bos_id(), model_->bos_id());
        QCOMPARE(demo_->eos_id(), model_->eos_id());
        QCOMPARE(demo_->unk_id(), model_->unk_id());
        QCOMPARE(demo_->unk_id(), 0);
        QCOMPARE(demo_->bos_id(), 1);
        QCOMPARE(demo_->eos_id(), 2);
        int differing = 0;
        for (int32_t id = 0; id < demo_->vocab_size(); ++id)
            if (demo_->piece(id) != model_->piece(id) || demo_->kind(id) != model_->kind(id)) {
                if (++differing < 10)
                    qWarning("id %d: '%s' (%d) vs '%s' (%d)", id, demo_->piece(id).c_str(),
                             int(demo_->kind(id)), model_->piece(id).c_str(),
                             int(model_->kind(id)));
            }
        QCOMPARE(differing, 0);

        // The model card's example.
        for (const Tokenizer* t : {demo_.get(), model_.get()}) {
            QStringList pieces;
            for (const int32_t id : t->encode("The pass key is 38117.", false))
                pieces << QString::fromStdString(t->piece(id));
            QCOMPARE(pieces.join(' '), QString("▁The ▁pass ▁key ▁is ▁ 3 8 1 1 7 ."));
            QCOMPARE(t->encode("The", true).front(), 1);
        }
    }

    void demoGgufTokenizesBooksLikeTokenizerModel_data() {
        QTest::addColumn<QString>("book");
        QTest::addColumn<int>("from_percent");  // -1: the whole book
        for (const char* book : {"pg1342_pride_and_prejudice.txt", "pg2610_notre_dame_de_paris.txt",
                                 "pg2600_war_and_peace.txt"})
            for (int percent : {0, 37, 81})
                QTest::newRow(qPrintable(QString("%1 @%2%").arg(book).arg(percent)))
                    << QString(book) << percent;
        QTest::newRow("pg11_alice_in_wonderland.txt whole")
            << QString("pg11_alice_in_wonderland.txt") << -1;
    }
    void demoGgufTokenizesBooksLikeTokenizerModel() {
        SKIP_WITHOUT_SHARED();
        QFETCH(QString, book);
        QFETCH(int, from_percent);
        need_demo();
        const std::string all = testing::read_bytes(testing::shared_path("corpus/books/" + book));
        QVERIFY(all.size() > 100000);
        const std::string text =
            from_percent < 0 ? all : slice(all, all.size() * size_t(from_percent) / 100, 20000);
        const std::vector<int32_t> a = demo_->encode(text, false);
        const std::vector<int32_t> b = model_->encode(text, false);
        QVERIFY(a.size() > text.size() / 8);  // a real tokenization, not a handful of unknowns
        QCOMPARE(a.size(), b.size());
        QVERIFY(a == b);
        // No unknown tokens: byte fallback covers everything.
        QCOMPARE(std::count(a.begin(), a.end(), demo_->unk_id()), std::ptrdiff_t(0));
        // (c) decode inverts encode on book text, for both.
        QCOMPARE(B(demo_->decode(a)), B(text));
        QCOMPARE(B(model_->decode(b)), B(text));
    }

    // ----- (c) decode(encode(text)) == text ---------------------------------------------------

    void decodeInvertsEncode() {
        SKIP_WITHOUT_SHARED();
        need_llama();
        need_demo();
        for (const Tokenizer* t : {llama_.get(), demo_.get(), model_.get()}) {
            for (const std::string& text : kTricky) {
                const std::vector<int32_t> ids = t->encode(text, false);
                QCOMPARE(B(t->decode(ids)), B(text));
                // BOS is a control piece: it decodes to nothing and keeps the dummy prefix rule.
                const std::vector<int32_t> with_bos = t->encode(text, true);
                QCOMPARE(B(t->decode(with_bos)), B(text));
            }
        }
        // Byte fallback is really exercised: CJK in the demo vocabulary and rare characters in
        // Llama's come out as byte pieces.
        int byte_pieces = 0;
        for (const int32_t id : llama_->encode(kTricky[16], false))
            byte_pieces += llama_->kind(id) == PieceKind::Byte;
        QVERIFY(byte_pieces >= 8);
        byte_pieces = 0;
        for (const int32_t id : demo_->encode(kTricky[13], false))
            byte_pieces += demo_->kind(id) == PieceKind::Byte;
        QVERIFY(byte_pieces >= 20);
    }

    void findToken() {
        SKIP_WITHOUT_SHARED();
        need_llama();
        QCOMPARE(llama_->find_token("\xE2\x96\x81Hello"), std::optional<int32_t>(15043));
        QCOMPARE(llama_->find_token("<s>"), std::optional<int32_t>(1));
        QCOMPARE(llama_->find_token("</s>"), std::optional<int32_t>(2));
        QCOMPARE(llama_->find_token("<unk>"), std::optional<int32_t>(0));
        QCOMPARE(llama_->find_token("<0x0A>"), std::optional<int32_t>(13));
        // Absent pieces are absent, not the unknown id.
        QVERIFY(!llama_->find_token("definitely-not-a-piece"));
        QVERIFY(!llama_->find_token(""));
        QVERIFY(!llama_->find_token("Hellox"));
        QCOMPARE(llama_->find_token("Hello"), std::optional<int32_t>(10994));
        QCOMPARE(QString::fromUtf8(
                     QByteArray(llama_->kind_name().data(), qsizetype(llama_->kind_name().size()))),
                 QString("SentencePiece"));
    }

    void tokenBytes() {
        SKIP_WITHOUT_SHARED();
        need_llama();
        QCOMPARE(B(llama_->token_bytes(13)), QByteArray("\n"));
        QCOMPARE(B(llama_->token_bytes(3 + 0xF0)), QByteArray("\xF0"));
        QCOMPARE(B(llama_->token_bytes(15043)), QByteArray(" Hello"));
        QCOMPARE(B(llama_->token_bytes(259)), QByteArray("  "));
        QCOMPARE(B(llama_->token_bytes(1)), QByteArray());  // BOS: control
        QCOMPARE(B(llama_->token_bytes(0)), QByteArray(" \xE2\x81\x87 "));
        QCOMPARE(B(llama_->token_bytes(-1)), QByteArray());
        QCOMPARE(B(llama_->token_bytes(32000)), QByteArray());
    }

    // ----- (d) streaming decode ---------------------------------------------------------------

    void streamDecoderNeverSplitsCharacters() {
        SKIP_WITHOUT_SHARED();
        need_llama();
        need_demo();
        const std::vector<std::string> texts = {"Grüße aus 東京 🙂 und ♞! 𝄞 ok",
                                                kTricky[12],
                                                kTricky[13],
                                                kTricky[16],
                                                "🙂 at start",
                                                "\n\tindented 中"};
        for (const Tokenizer* t : {llama_.get(), demo_.get()}) {
            for (const std::string& text : texts) {
                const std::vector<int32_t> ids = t->encode(text, false);
                for (const bool at_start : {true, false}) {
                    StreamDecoder decoder(*t, at_start);
                    std::string streamed;
                    int held_back = 0;
                    for (const int32_t id : ids) {
                        const std::string part = decoder.push(id);
                        QVERIFY2(is_valid_utf8(part),
                                 qPrintable(QString("token %1 gave invalid UTF-8").arg(id)));
                        QVERIFY2(ref_valid(part),
                                 qPrintable(QString("token %1 gave invalid UTF-8").arg(id)));
                        held_back += part.empty() && !t->token_bytes(id).empty();
                        streamed += part;
                    }
                    QCOMPARE(B(decoder.flush()), QByteArray());
                    // The dummy-prefix space is dropped only at the start of the text.
                    QCOMPARE(B(streamed), B(at_start ? text : " " + text));
                    if (t == llama_.get() && text == texts[0])
                        QVERIFY(held_back >= 3);  // 🙂 and 𝄞 as bytes
                }
            }
        }
    }

    void streamDecoderByteSequences() {
        SKIP_WITHOUT_SHARED();
        need_llama();
        auto byte_id = [&](int b) {
            char name[8];
            std::snprintf(name, sizeof name, "<0x%02X>", b);
            const int32_t id = id_of_piece(*llama_, name);
            return id;
        };
        QCOMPARE(byte_id(0xF0), 3 + 0xF0);
        // 😀 = F0 9F 98 80, fed one byte piece at a time.
        {
            StreamDecoder d(*llama_, true);
            QCOMPARE(B(d.push(byte_id(0xF0))), QByteArray());
            QCOMPARE(B(d.push(byte_id(0x9F))), QByteArray());
            QCOMPARE(B(d.push(byte_id(0x98))), QByteArray());
            QCOMPARE(B(d.push(byte_id(0x80))), QByteArray("\xF0\x9F\x98\x80"));
            QCOMPARE(B(d.flush()), QByteArray());
        }
        // A byte that can never start a character is replaced at once; a cut-off sequence
        // followed by a normal piece is replaced and the piece kept.
        {
            StreamDecoder d(*llama_, true);
            QCOMPARE(B(d.push(byte_id(0xFF))), QByteArray(kReplacement.c_str()));
            QCOMPARE(B(d.push(byte_id(0xE2))), QByteArray());
            const std::string out = d.push(15043);  // "▁Hello"
            QVERIFY(is_valid_utf8(out));
            QVERIFY(B(out).endsWith(" Hello"));
            QVERIFY(B(out).startsWith(kReplacement.c_str()));
            QCOMPARE(B(d.push(byte_id(0xE2))), QByteArray());
            QCOMPARE(B(d.push(byte_id(0x82))), QByteArray());
            // The cut-off E2 82 comes out replaced (one U+FFFD, or one per byte).
            const std::string rest = d.flush();
            QVERIFY(rest == kReplacement || rest == kReplacement + kReplacement);
            QCOMPARE(B(d.flush()), QByteArray());
        }
        // Control pieces print nothing and leave the text start where it is.
        {
            StreamDecoder d(*llama_, true);
            QCOMPARE(B(d.push(1)), QByteArray());
            QCOMPARE(B(d.push(15043)), QByteArray("Hello"));
            QCOMPARE(B(d.push(15043)), QByteArray(" Hello"));
        }
        {
            StreamDecoder d(*llama_, false);
            QCOMPARE(B(d.push(15043)), QByteArray(" Hello"));
        }
        // A byte piece first: nothing to drop, the space is only removed from a piece that has it.
        {
            StreamDecoder d(*llama_, true);
            QCOMPARE(B(d.push(byte_id(0x20))), QByteArray(" "));
        }
    }

    // ----- (e) UTF-8 helpers ------------------------------------------------------------------

    void utf8HandPickedCases() {
        struct Case {
            const char* bytes;
            size_t length;
            bool valid;
        };
        const Case cases[] = {
            {"", 0, true},
            {"abc", 3, true},
            {"\0", 1, true},
            {"\xC2\x80", 2, true},           // U+0080
            {"\xDF\xBF", 2, true},           // U+07FF
            {"\xE0\xA0\x80", 3, true},       // U+0800
            {"\xED\x9F\xBF", 3, true},       // U+D7FF
            {"\xEE\x80\x80", 3, true},       // U+E000
            {"\xEF\xBF\xBF", 3, true},       // U+FFFF
            {"\xF0\x90\x80\x80", 4, true},   // U+10000
            {"\xF4\x8F\xBF\xBF", 4, true},   // U+10FFFF
            {"\xC0\xAF", 2, false},          // overlong '/'
            {"\xC1\xBF", 2, false},          // overlong
            {"\xE0\x80\xAF", 3, false},      // overlong
            {"\xE0\x9F\xBF", 3, false},      // overlong U+07FF
            {"\xF0\x80\x80\xAF", 4, false},  // overlong
            {"\xF0\x8F\xBF\xBF", 4, false},  // overlong U+FFFF
            {"\xED\xA0\x80", 3, false},      // surrogate U+D800
            {"\xED\xBF\xBF", 3, false},      // surrogate U+DFFF
            {"\xF4\x90\x80\x80", 4, false},  // U+110000
            {"\xF5\x80\x80\x80", 4, false},
            {"\xF8\x88\x80\x80\x80", 5, false},
            {"\x80", 1, false},  // lone continuation
            {"\xBF", 1, false},
            {"\xFE", 1, false},
            {"\xFF", 1, false},
            {"\xE2\x82", 2, false},      // truncated €
            {"\xF0\x9F\x98", 3, false},  // truncated 😀
            {"\xC3", 1, false},
            {"a\xE2\x82"
             "b",
             4, false},
            {"\xE2\x82\xAC\xE2\x82\xAC", 6, true},
        };
        for (const Case& c : cases) {
            const std::string_view s(c.bytes, c.length);
            QVERIFY2(is_valid_utf8(s) == c.valid, qPrintable(B(s).toHex(' ')));
            QCOMPARE(ref_valid(s), c.valid);  // the reference agrees with the table
            const std::string fixed = replace_invalid_utf8(s);
            QVERIFY(is_valid_utf8(fixed));
            if (c.valid)
                QCOMPARE(B(fixed), B(s));
            else
                QVERIFY(fixed.find(kReplacement) != std::string::npos);
        }
        // complete_utf8_prefix keeps back only a cut-off sequence at the end.
        QCOMPARE(complete_utf8_prefix(""), size_t(0));
        QCOMPARE(complete_utf8_prefix("abc"), size_t(3));
        QCOMPARE(complete_utf8_prefix("ab\xE2\x82"), size_t(2));
        QCOMPARE(complete_utf8_prefix("ab\xE2"), size_t(2));
        QCOMPARE(complete_utf8_prefix("ab\xE2\x82\xAC"), size_t(5));
        QCOMPARE(complete_utf8_prefix("\xF0\x9F\x98"), size_t(0));
        QCOMPARE(complete_utf8_prefix("\xF0\x9F\x98\x80"), size_t(4));
        QCOMPARE(complete_utf8_prefix("a\xFF"), size_t(2));         // invalid: will not improve
        QCOMPARE(complete_utf8_prefix("\xE2\x28\xA1"), size_t(3));  // broken, not cut off
        QCOMPARE(complete_utf8_prefix("\xED\xA0"), size_t(2));  // a surrogate start never completes
        QCOMPARE(complete_utf8_prefix("\xE0\x80"), size_t(2));  // an overlong start never completes
        QCOMPARE(complete_utf8_prefix("\xF4\x90"), size_t(2));  // past U+10FFFF never completes
        QCOMPARE(complete_utf8_prefix("x\xF4\x8F\xBF"), size_t(1));  // U+10FFFF cut off

        // Replacement: overlong and surrogate bytes each become U+FFFD (every policy agrees),
        // text around them is kept.
        QCOMPARE(B(replace_invalid_utf8("a\xC0\xAF"
                                        "b")),
                 B("a" + kReplacement + kReplacement + "b"));
        QCOMPARE(B(replace_invalid_utf8("\xED\xA0\x80")),
                 B(kReplacement + kReplacement + kReplacement));
        QCOMPARE(B(replace_invalid_utf8("\xF0\x80\x80\xAF!")),
                 B(kReplacement + kReplacement + kReplacement + kReplacement + "!"));
        QCOMPARE(B(replace_invalid_utf8("\xFF\xFE")), B(kReplacement + kReplacement));
        QCOMPARE(B(replace_invalid_utf8("é\x80"
                                        "é")),
                 B("é" + kReplacement + "é"));
        // A cut-off sequence becomes one or more U+FFFD (one per maximal subpart in Unicode's
        // recommended practice, one per byte here: both are "replaced").
        for (const std::string& s :
             {std::string("x\xE2\x82"), std::string("x\xE2\x82y"), std::string("\xF0\x9F\x98 ")}) {
            const std::string fixed = replace_invalid_utf8(s);
            const int n = count_of(fixed, kReplacement);
            QVERIFY(is_valid_utf8(fixed));
            QVERIFY(n >= 1 && n <= 3);
            QCOMPARE(B(remove_all(fixed, kReplacement)), B(ref_valid_chars(s).first));
        }
    }

    void utf8ValidityAgreesWithReferenceExhaustively() {
        int checked = 0;
        QStringList failures;
        auto check = [&](std::string_view s) {
            ++checked;
            if (is_valid_utf8(s) != ref_valid(s) && failures.size() < 20)
                failures
                    << QString("%1: engine %2").arg(QString(B(s).toHex(' '))).arg(is_valid_utf8(s));
        };
        std::string s;
        for (int a = 0; a < 256; ++a) {
            s.assign(1, char(a));
            check(s);
            for (int b = 0; b < 256; ++b) {
                s.assign({char(a), char(b)});
                check(s);
            }
        }
        // Three bytes for every lead byte that starts a 3- or 4-byte sequence, and C2/DF/80.
        for (int a : {0x80, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4,
                      0xF5, 0xFF})
            for (int b = 0; b < 256; ++b)
                for (int c = 0; c < 256; ++c) {
                    s.assign({char(a), char(b), char(c)});
                    check(s);
                }
        // Four-byte sequences: all continuation bytes after F0..F4, then random mixtures.
        for (int a = 0xF0; a <= 0xF4; ++a)
            for (int b = 0x80; b < 0xC0; ++b)
                for (int c = 0x70; c < 0xC8; c += 3)
                    for (int d = 0x70; d < 0xC8; d += 5) {
                        s.assign({char(a), char(b), char(c), char(d)});
                        check(s);
                    }
        std::mt19937 rng(99);
        const uint8_t alphabet[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0,
                                    0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xED,
                                    0xEF, 0xF0, 0xF4, 0xF5, 0xF8, 0xFF};
        for (int round = 0; round < 200000; ++round) {
            s.resize(1 + rng() % 9);
            for (char& ch : s) ch = char(alphabet[rng() % sizeof alphabet]);
            check(s);
        }
        qInfo("UTF-8 validity checked on %d strings", checked);
        QVERIFY2(failures.isEmpty(), qPrintable(failures.join("\n")));
    }

    void completePrefixAndReplacementProperties() {
        std::mt19937 rng(7);
        // Random valid text: cutting it anywhere, the complete prefix is the last character
        // boundary at or before the cut.
        const uint32_t ranges[][2] = {
            {0x20, 0x7E}, {0xA0, 0x7FF}, {0x800, 0xD7FF}, {0xE000, 0xFFFD}, {0x10000, 0x10FFFF}};
        for (int round = 0; round < 300; ++round) {
            std::string text;
            std::vector<size_t> boundaries = {0};
            for (int k = 0; k < 20; ++k) {
                const auto& r = ranges[rng() % 5];
                text += utf8(r[0] + rng() % (r[1] - r[0] + 1));
                boundaries.push_back(text.size());
            }
            QVERIFY(is_valid_utf8(text));
            QCOMPARE(B(replace_invalid_utf8(text)), B(text));
            QCOMPARE(complete_utf8_prefix(text), text.size());
            for (size_t cut = 0; cut <= text.size(); ++cut) {
                const size_t want =
                    *(std::upper_bound(boundaries.begin(), boundaries.end(), cut) - 1);
                QCOMPARE(complete_utf8_prefix(std::string_view(text).substr(0, cut)), want);
            }
        }
        // Random bytes: the replacement is valid, keeps exactly the valid characters in order,
        // and puts between one U+FFFD per run of bad bytes and one per bad byte.
        for (int round = 0; round < 20000; ++round) {
            std::string s(1 + rng() % 12, '\0');
            for (char& ch : s) ch = char(rng() % 3 ? 0x80 + rng() % 0x80 : rng() % 0x80);
            const std::string fixed = replace_invalid_utf8(s);
            QVERIFY(ref_valid(fixed));
            const auto [chars, bad] = ref_valid_chars(s);
            const int already = count_of(chars, kReplacement);
            const int added = count_of(fixed, kReplacement) - already;
            QVERIFY2(added <= bad && (bad == 0) == (added == 0), qPrintable(B(s).toHex(' ')));
            if (already == 0) QCOMPARE(B(remove_all(fixed, kReplacement)), B(chars));
            const size_t p = complete_utf8_prefix(s);
            QVERIFY(p <= s.size() && s.size() - p <= 3);
            if (ref_valid(s)) QCOMPARE(p, s.size());
        }
    }
};

QTEST_APPLESS_MAIN(TestTokenizer)
#include "tst_tokenizer.moc"
