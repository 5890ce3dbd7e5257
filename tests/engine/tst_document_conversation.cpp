// The document conversation: a framed document's prompts are exactly the prompts encoded whole
// (every vocabulary kind, awkward documents and questions), while the document itself is encoded
// once per document, and not at all for a follow-up (counted through a tokenizer that counts what
// it is given); one side's turns, limits, cut, cancel and sources on the demo model.
#include <QFile>
#include <QtTest>
#include <atomic>
#include <map>

#include "selfextend/document_conversation.h"
#include "selfextend/engine.h"
#include "selfextend/tokenizer.h"
#include "test_paths.h"

using namespace selfextend;

namespace {

// A vocabulary's own tokenizer that counts the bytes of text it is asked to encode.
class CountingTokenizer final : public Tokenizer {
  public:
    explicit CountingTokenizer(const Tokenizer& inner) : inner_(inner) {
        bos_id_ = inner.bos_id();
        eos_id_ = inner.eos_id();
        unk_id_ = inner.unk_id();
        add_bos_ = inner.adds_bos();
        add_eos_ = inner.adds_eos();
        add_space_prefix_ = inner.adds_space_prefix();
    }
    std::vector<int32_t> encode(std::string_view text, bool at_start) const override {
        bytes_ += int64_t(text.size());
        return inner_.encode(text, at_start);
    }
    std::optional<size_t> safe_cut(std::string_view text, size_t newline) const override {
        return inner_.safe_cut(text, newline);
    }
    std::vector<int32_t> encode_continuation(std::string_view text) const override {
        bytes_ += int64_t(text.size());
        return inner_.encode_continuation(text);
    }
    int vocab_size() const override { return inner_.vocab_size(); }
    const std::string& piece(int32_t id) const override { return inner_.piece(id); }
    PieceKind kind(int32_t id) const override { return inner_.kind(id); }
    std::optional<int32_t> find_token(std::string_view piece) const override {
        return inner_.find_token(piece);
    }
    std::string token_bytes(int32_t id) const override { return inner_.token_bytes(id); }
    std::string_view kind_name() const override { return inner_.kind_name(); }

    // Bytes encoded since the last call.
    int64_t take_bytes() const { return bytes_.exchange(0); }

  private:
    const Tokenizer& inner_;
    mutable std::atomic<int64_t> bytes_ = 0;
};

std::string book(const QString& name, qsizetype bytes) {
    QFile file(testing::shared_path("corpus/books/" + name));
    if (!file.open(QIODevice::ReadOnly)) return {};
    return file.read(bytes).toStdString();
}

// Cut back to whole UTF-8 characters.
std::string whole_characters(std::string text) {
    while (!text.empty() && (uint8_t(text.back()) & 0xC0) == 0x80) text.pop_back();
    if (!text.empty() && uint8_t(text.back()) >= 0xC0) text.pop_back();
    return text;
}

// The first `bytes` of the project's door-code sample (one long line), for the demo model.
std::string door_code_sample(qsizetype bytes) {
    QFile sample(QString(SE_SOURCE_DIR) + "/resources/samples/door-code.txt");
    return sample.open(QIODevice::ReadOnly) ? sample.readAll().left(bytes).toStdString()
                                            : std::string();
}

std::shared_ptr<const Model> demo_model() {
    return Model::load(testing::demo_model_path().toStdString(), {.device = Device::Cpu});
}

struct Vocabulary {
    QString name;
    std::unique_ptr<Tokenizer> tokenizer;
    ChatFormat format;
};

}  // namespace

class TestDocumentConversation : public QObject {
    Q_OBJECT
  private slots:
    void framedPromptsAreThePromptsEncodedWhole_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<int>("format");
        QTest::addColumn<bool>("fromModels");
        const auto row = [](const char* name, const char* file, ChatFormat format, bool models) {
            QTest::newRow(name) << QString(file) << int(format) << models;
        };
        row("gpt-2, plain", "vocab/ggml-vocab-gpt-2.gguf", ChatFormat::Plain, false);
        row("starcoder, plain", "vocab/ggml-vocab-starcoder.gguf", ChatFormat::Plain, false);
        row("llama-spm, Llama-2", "vocab/ggml-vocab-llama-spm.gguf", ChatFormat::Llama2, false);
        row("phi-3, Phi-3", "vocab/ggml-vocab-phi-3.gguf", ChatFormat::Phi3, false);
        row("SmolLM2, ChatML", "SmolLM2-135M-Instruct.Q4_1.gguf", ChatFormat::ChatML, true);
        row("Gemma 3, Gemma", "gemma-3-270m-q4_k_m.gguf", ChatFormat::Gemma, true);
        row("Gemma 3, plain", "gemma-3-270m-q4_k_m.gguf", ChatFormat::Plain, true);
    }
    // The reference is the same conversation encoded whole by ChatTemplate::document_prompt
    // (the vocabularies themselves are checked against independent ids in tst_tokenizer and
    // tst_bpe_tokenizer). Documents and questions that sit badly on a cut: CRLF lines, blank
    // lines at the end, blanks first, no newline at all, questions that start with blanks or
    // digits, an empty one, a follow-up.
    void framedPromptsAreThePromptsEncodedWhole() {
        SKIP_WITHOUT_SHARED();
        QFETCH(QString, file);
        QFETCH(int, format);
        QFETCH(bool, fromModels);
        const QString path =
            fromModels ? testing::models_dir() + "/" + file : testing::shared_path(file);
        if (fromModels) SKIP_WITHOUT_MODEL(path);
        const auto vocabulary = load_gguf_vocabulary(path.toStdString());
        const CountingTokenizer counting(*vocabulary.tokenizer);
        const ChatTemplate chat(ChatFormat(format), counting);

        const std::string text = whole_characters(book("pg1260_jane_eyre.txt", 24000));
        QVERIFY(text.size() > 20000);
        std::string crlf;
        for (const char c : text.substr(0, 6000)) (c == '\n' ? crlf += "\r\n" : crlf += c);
        std::string one_line = text.substr(0, 3000);
        std::replace(one_line.begin(), one_line.end(), '\n', ' ');
        const std::vector<std::pair<const char*, std::string>> documents = {
            {"book", text},
            {"CRLF", crlf},
            {"blank lines last", text.substr(0, 5000) + "\n\n\n"},
            {"blanks first", "\n\n   " + text.substr(0, 5000)},
            {"one line", whole_characters(one_line)},
        };
        const std::vector<std::string> questions = {"Who is Mr. Rochester?", " a leading space",
                                                    "\nA newline first", "1847: what year?", ""};
        const std::vector<QuestionAnswer> earlier = {{"Who is Jane?", " An orphan.\n"}};
        std::map<std::string, int> fast;  // per document
        for (const auto& [name, document] : documents)
            for (const std::string system : {"", "Answer briefly."}) {
                counting.take_bytes();
                const FramedDocument framed(chat, system, document);
                const int64_t framing_bytes = counting.take_bytes();
                for (const std::string& question : questions)
                    for (const bool follow_up : {false, true}) {
                        const auto turns =
                            follow_up ? std::span(earlier) : std::span<const QuestionAnswer>();
                        const auto got = framed.prompt(turns, question);
                        const int64_t asked_bytes = counting.take_bytes();
                        const auto want = chat.document_prompt(system, document, turns, question);
                        counting.take_bytes();
                        const QString where = QString("%1, system '%2', question '%3'%4")
                                                  .arg(name, QString::fromStdString(system),
                                                       QString::fromStdString(question),
                                                       follow_up ? ", follow-up" : "");
                        QVERIFY2(got.tokens == want.tokens, qPrintable(where));
                        QVERIFY2(got.document_prefix == want.document_prefix,
                                 qPrintable(where + QString(": prefix %1, whole %2")
                                                        .arg(got.document_prefix)
                                                        .arg(want.document_prefix)));
                        // The document is encoded with the framing, once; a question encodes
                        // its own text and the document's last lines.
                        if (asked_bytes < 4096) ++fast[name];
                    }
                // Framed where a cut was found: the document encoded once, with its markup.
                QVERIFY(framing_bytes == 0 || (framing_bytes >= int64_t(document.size()) &&
                                               framing_bytes < int64_t(document.size()) + 16384));
            }
        QString counts;
        for (const auto& [name, count] : fast)
            counts += QString(" %1 %2,").arg(QString::fromStdString(name)).arg(count);
        qInfo("prompts that did not encode the document again (of %zu):%s",
              2 * questions.size() * 2, qPrintable(counts));
        // The book has lines a cut can sit on for every vocabulary: none of its prompts encodes
        // it again.
        QCOMPARE(fast["book"], 2 * int(questions.size()) * 2);
    }

    // A two-sided Ask and a follow-up on the demo model, counting what the tokenizer is given:
    // the document once when it is framed, never again for either side or for the follow-up.
    void theDocumentIsEncodedOncePerDocument() {
        const auto model = demo_model();
        const CountingTokenizer counting(model->tokenizer());
        SKIP_WITHOUT_SHARED();
        // A book's lines (a text without a newline is encoded whole for each prompt: no cut).
        const std::string text = whole_characters(book("pg1260_jane_eyre.txt", 3000));
        const auto document = std::make_shared<const FramedDocument>(
            ChatTemplate(model->chat_template().format(), counting), "", text);
        const int64_t framing = counting.take_bytes();
        QVERIFY2(framing >= int64_t(text.size()) && framing < int64_t(text.size()) + 2048,
                 qPrintable(QString("%1 bytes for %2").arg(framing).arg(text.size())));

        const int64_t L = model->info().training_window;
        DocumentConversation vanilla(model, document, AttentionMode::vanilla());
        DocumentConversation extended(model, document, AttentionMode::self_extend(4, 128));
        AnswerOptions options;
        options.max_new_tokens = 4;
        for (const char* question : {"Who is Jane?", "Where does she live?"}) {
            for (DocumentConversation* side : {&vanilla, &extended}) {
                const auto prompt = side->prompt(
                    question, prompt_limits(L, side->mode(), options.max_new_tokens, false));
                QVERIFY(prompt.document_prefix > 500);
                const auto outcome = side->answer(prompt, question, options);
                QVERIFY2(outcome.error.empty(), outcome.error.c_str());
                const int64_t bytes = counting.take_bytes();
                qInfo("%s, %s: %lld bytes encoded, %lld of %lld prompt tokens reused",
                      side->mode().describe().c_str(), question, (long long)bytes,
                      (long long)outcome.reused_tokens, (long long)outcome.prompt_tokens);
                QVERIFY2(bytes < 1024, qPrintable(QString::number(bytes)));
                if (side->turns().size() == 2)  // the follow-up runs only what is new
                    QVERIFY(outcome.reused_tokens >= prompt.document_prefix);
            }
        }
    }

    // Turns are kept while they fit, the oldest dropped first; past the budget the document's
    // start goes and the prompt says from how long; a question that cannot fit gives no prompt.
    void limitsDropTurnsThenCutTheDocument() {
        const auto model = demo_model();
        const auto document = std::make_shared<const FramedDocument>(model->chat_template(), "",
                                                                     door_code_sample(3000));
        DocumentConversation c(model, document, AttentionMode::vanilla());
        const std::string long_answer(600, 'x');
        c.restore_turns({{"First?", long_answer}, {"Second?", "Yes."}});
        const auto whole = c.prompt("Third?", {});
        QCOMPARE(whole.earlier_turns, size_t(2));
        QVERIFY(whole.follow_up());

        // Room for the document and the short turn, not the long one.
        const int64_t within = int64_t(whole.tokens.size()) - 50;
        const auto dropped = c.prompt("Third?", {.keep_turns_within = within});
        QCOMPARE(dropped.dropped_turns, int64_t(1));
        QCOMPARE(dropped.earlier_turns, size_t(1));
        QVERIFY(int64_t(dropped.tokens.size()) <= within);
        QCOMPARE(dropped.truncated_from, int64_t(0));

        const PromptLimits cut{.keep_turns_within = 300, .budget = 300};
        const auto truncated = c.prompt("Third?", cut);
        QVERIFY(!truncated.tokens.empty());
        QVERIFY(int64_t(truncated.tokens.size()) <= 300);
        QCOMPARE(truncated.dropped_turns, int64_t(2));
        QVERIFY(truncated.truncated_from > 300);
        // The document's end is kept: the prompt ends with the question after it.
        const std::string kept = model->detokenize(truncated.tokens);
        QVERIFY(kept.find(document->text().substr(document->text().size() - 40)) !=
                std::string::npos);

        QVERIFY(c.prompt(std::string(4000, 'q'), {.keep_turns_within = 64, .budget = 64})
                    .tokens.empty());

        // The policy both front ends share.
        const auto vanilla = prompt_limits(512, AttentionMode::vanilla(), 64, true);
        QCOMPARE(vanilla.budget, int64_t(448));
        QCOMPARE(vanilla.keep_turns_within, int64_t(448));
        QCOMPARE(prompt_limits(512, AttentionMode::vanilla(), 64, false).keep_turns_within,
                 int64_t(-1));
        const auto extended = prompt_limits(512, AttentionMode::self_extend(4, 128), 64, false);
        QCOMPARE(extended.budget, int64_t(-1));
        QCOMPARE(extended.keep_turns_within, capacity(512, 4, 128) - 64);
    }

    // An answer cut by the token limit goes on where it stopped: the same text as one answer
    // given all the tokens at once (greedy), only the new tokens generated.
    void aCutAnswerContinues() {
        const auto model = demo_model();
        const auto document = std::make_shared<const FramedDocument>(model->chat_template(), "",
                                                                     door_code_sample(2000));
        const std::string question = "What is the door code?";
        AnswerOptions options;
        options.stop_at_line_break = false;

        DocumentConversation whole(model, document, AttentionMode::self_extend(4, 128));
        options.max_new_tokens = 8;
        const auto all = whole.answer(whole.prompt(question, {}), question, options);
        QVERIFY(all.cut_by_token_limit);

        DocumentConversation c(model, document, AttentionMode::self_extend(4, 128));
        QVERIFY(!c.can_continue());
        options.max_new_tokens = 4;
        const auto first = c.answer(c.prompt(question, {}), question, options);
        QVERIFY(first.cut_by_token_limit);
        QVERIFY(c.can_continue());
        const auto more = c.continue_answer(options);
        QVERIFY2(more.error.empty(), more.error.c_str());
        QCOMPARE(more.generation.tokens, int64_t(4));
        QCOMPARE(more.reused_tokens, more.prompt_tokens - 1);  // only the last token runs again
        QCOMPARE(c.turns().size(), size_t(1));
        QCOMPARE(c.turns()[0].answer, first.answer + more.answer);
        QCOMPARE(c.turns()[0].answer, all.answer);
        // A new question's answer that ends is not continued.
        c.clear_turns();
        QVERIFY(!c.can_continue());
        QVERIFY(!c.continue_answer(options).error.empty());
    }

    // A stop during the prefill adds no turn; a stop while answering keeps the turn as far as
    // it went. The CPU reports where the answer came from.
    void cancelAndSources() {
        const auto model = demo_model();
        const auto document = std::make_shared<const FramedDocument>(model->chat_template(), "",
                                                                     door_code_sample(3000));
        DocumentConversation c(model, document, AttentionMode::self_extend(4, 128));
        AnswerOptions options;
        options.max_new_tokens = 6;

        CancelToken early;
        early.cancel();
        const std::string question = "What is the door code?";
        auto outcome = c.answer(c.prompt(question, {}), question, options, {}, &early);
        QVERIFY(outcome.cancelled);
        QCOMPARE(outcome.prefilled_tokens, int64_t(0));
        QCOMPARE(c.turns().size(), size_t(0));

        CancelToken late;
        AnswerCallbacks callbacks;
        int pieces = 0;
        callbacks.on_piece = [&](std::string_view, int64_t) {
            if (++pieces == 2) late.cancel();
            return true;
        };
        options.stop_at_line_break = false;
        outcome = c.answer(c.prompt(question, {}), question, options, callbacks, &late);
        QVERIFY(outcome.cancelled);
        QCOMPARE(outcome.prefilled_tokens, outcome.prompt_tokens);
        QCOMPARE(c.turns().size(), size_t(1));
        QCOMPARE(c.turns()[0].answer, outcome.answer);
        QVERIFY(c.sources_available());
        const auto sources = c.sources(3, {});
        QVERIFY(!sources.empty());
        for (const RankedPassage& p : sources)
            QVERIFY(p.bytes.end <= int64_t(document->text().size()) && !p.bytes.empty());
    }
};

QTEST_GUILESS_MAIN(TestDocumentConversation)
#include "tst_document_conversation.moc"
