// Where an answer came from (selfextend/answer_sources.h): the document's passages, their ranking
// by attention mass, and the document's tokens found inside a whole prompt.
#include <QtTest>
#include <string>
#include <vector>

#include "selfextend/answer_sources.h"
#include "selfextend/chat.h"
#include "selfextend/engine.h"
#include "test_paths.h"

using namespace selfextend;

namespace {

std::string_view slice(std::string_view text, ByteRange r) {
    return text.substr(size_t(r.begin), size_t(r.end - r.begin));
}

}  // namespace

class TestSourcePassages : public QObject {
    Q_OBJECT

  private slots:
    // Sentences and lines, blanks trimmed; a long run without a stop is cut at a space.
    void passagesAreSentencesAndLines() {
        const std::string text = "  First one. Second one!\nA line without a stop\n\nWhy? End";
        std::vector<std::string_view> got;
        for (const ByteRange& r : split_passages(text)) got.push_back(slice(text, r));
        const std::vector<std::string_view> expected = {"First one.", "Second one!",
                                                        "A line without a stop", "Why?", "End"};
        QCOMPARE(got, expected);
        const std::string longText(1000, 'a');
        std::string spaced;
        for (int k = 0; k < 200; ++k) spaced += "word ";
        QCOMPARE(split_passages(longText).size(), size_t(1));
        const auto cut = split_passages(spaced);
        QVERIFY(cut.size() >= 4);
        for (const ByteRange& r : cut) QVERIFY(r.end - r.begin <= kMaxPassageBytes + 8);
    }

    // Mass summed per passage (a token counts where its first non-blank byte is), best first,
    // as shares of the document's mass.
    void passagesAreRankedBySummedMass() {
        // Passages [0, 12) "Été chaud.", [13, 29) "Le vent souffle.", [30, 35) "Rien." (É and é
        // take two bytes). Tokens: one before the document, "Été", " chaud.", " Le",
        // " vent souffle.", " Rien.", one after it.
        const std::string text = "Été chaud. Le vent souffle. Rien.";
        const std::vector<ByteRange> ranges = {{0, 0},   {0, 5},   {5, 12}, {12, 15},
                                               {15, 29}, {29, 35}, {35, 35}};
        const std::vector<float> mass = {5.0f, 0.0625f, 0.0625f, 0.25f, 0.375f, 0.25f, 9.0f};
        const auto ranked = rank_passages(text, ranges, mass, 2);
        QCOMPARE(ranked.size(), size_t(2));
        QCOMPARE(slice(text, ranked[0].bytes), std::string_view("Le vent souffle."));
        QCOMPARE(slice(text, ranked[1].bytes), std::string_view("Rien."));
        QCOMPARE(ranked[0].share, 0.625);  // of 1.0 on the document, exact in floats
        QCOMPARE(ranked[1].share, 0.25);
        // No mass on the document: nothing to rank.
        const std::vector<float> outside = {1.0f, 0, 0, 0, 0, 0, 1.0f};
        QVERIFY(rank_passages(text, ranges, outside, 2).empty());
    }

    // With the answer: the passages holding its words first, rare words (a code, a name)
    // counting most, attention only breaking near-ties; an answer with none of the document's
    // words has no sources.
    void passagesHoldingTheAnswersWordsComeFirst() {
        const std::string text =
            "The office was closed. The office of the records was old. "
            "The password of the records office is bluebird-58. Rain fell on the office.";
        // One token per passage, the most attention on the last one.
        std::vector<ByteRange> ranges;
        std::vector<float> mass;
        for (const ByteRange& r : split_passages(text)) {
            ranges.push_back(r);
            mass.push_back(0.1f);
        }
        QCOMPARE(ranges.size(), size_t(4));
        mass[3] = 0.7f;
        const auto by_attention = rank_passages(text, ranges, mass, 2);
        QCOMPARE(slice(text, by_attention[0].bytes), std::string_view("Rain fell on the office."));
        const auto ranked = rank_passages(text, ranges, mass, 4,
                                          "The password of the records office is bluebird-58.");
        QCOMPARE(ranked.size(), size_t(4));  // every passage holds "office"
        QCOMPARE(slice(text, ranked[0].bytes),
                 std::string_view("The password of the records office is bluebird-58."));
        QCOMPARE(ranked[0].evidence, 1.0);
        // The share stays the attention share.
        QVERIFY(std::abs(ranked[0].share - 0.1) < 1e-6);
        // "office" is everywhere and "records" in two passages: they weigh little
        // (log(5/4) and log(5/2) against log 5 for each of password, bluebird, 58, so
        // evidence 0.037 and 0.19), and attention breaks such near-ties.
        QCOMPARE(slice(text, ranked[1].bytes), std::string_view("Rain fell on the office."));
        QVERIFY(std::abs(ranked[1].evidence - std::log(5.0 / 4) / 5.97) < 2e-3);
        QCOMPARE(slice(text, ranked[2].bytes),
                 std::string_view("The office of the records was old."));
        QCOMPARE(slice(text, ranked[3].bytes), std::string_view("The office was closed."));
        // Words the document lacks, or function words only: no sources.
        QVERIFY(rank_passages(text, ranges, mass, 4, "Qulty Quest Quest").empty());
        QVERIFY(rank_passages(text, ranges, mass, 4, "It is the one.").empty());
        // Case and punctuation do not matter; other scripts are words too.
        const auto code = rank_passages(text, ranges, mass, 1, "BLUEBIRD 58");
        QCOMPARE(slice(text, code[0].bytes),
                 std::string_view("The password of the records office is bluebird-58."));
        const std::string accented = "Le café ferme. Le thé est chaud.";
        std::vector<ByteRange> r2 = split_passages(accented);
        const auto tea =
            rank_passages(accented, r2, std::vector<float>(r2.size(), 1.0f), 1, "Du thé.");
        QCOMPARE(slice(accented, tea[0].bytes), std::string_view("Le thé est chaud."));
    }

    // An answer states first and rambles after: the words of its later sentences weigh half as
    // much per sentence, so rambling that happens to match another passage's rarer words does
    // not outrank the fact (the demo model's "It is 4821. was a very pretty place, and Anne").
    void theAnswersFirstSentenceWeighsMost() {
        const std::string text =
            "Anne went out. Remember this: the door code is 4821. Anne saw a pretty place. "
            "The rain fell.";
        std::vector<ByteRange> ranges = split_passages(text);
        QCOMPARE(ranges.size(), size_t(4));
        const std::vector<float> mass(ranges.size(), 0.25f);
        // log(5/1) for "4821" in the first sentence against (log(5/2) + log 5) / 2 for "anne" and
        // "saw" in the second: 1.61 against 1.26, 0.78 of the best.
        const auto ranked = rank_passages(text, ranges, mass, 2, "It is 4821. Anne saw it.");
        QCOMPARE(slice(text, ranked[0].bytes),
                 std::string_view("Remember this: the door code is 4821."));
        QCOMPARE(slice(text, ranked[1].bytes), std::string_view("Anne saw a pretty place."));
        QVERIFY(std::abs(ranked[1].evidence - (std::log(2.5) + std::log(5.0)) / 2 / std::log(5.0)) <
                1e-6);
        // Weighed equally (one sentence), the rambling's passage comes first: 2.53 against 1.61.
        const auto flat = rank_passages(text, ranges, mass, 1, "It is 4821, Anne saw it.");
        QCOMPARE(slice(text, flat[0].bytes), std::string_view("Anne saw a pretty place."));
    }

    // A passage on one line: blank runs as one space, cut at a character boundary.
    void previewIsOneLineCutBetweenCharacters() {
        const std::string text = "Un  été\n\tchaud, très chaud.";
        const ByteRange all{0, int64_t(text.size())};
        QCOMPARE(passage_preview(text, all, 100), std::string("Un été chaud, très chaud."));
        // "Un été chaud, tr" is 18 bytes; 19 would split the two bytes of 'è'.
        QCOMPARE(passage_preview(text, all, 19), std::string("Un été chaud, tr…"));
        QCOMPARE(passage_preview(text, all, 20), std::string("Un été chaud, trè…"));
        QCOMPARE(passage_preview(text, {3, 9}, 100),
                 std::string("été"));  // a leading blank dropped
    }

    // The document's tokens inside a whole prompt (template, document, question): concatenated
    // they give the document back, and a prompt cut to its end maps onto the document's end.
    void documentTokensAreFoundInThePrompt() {
        const auto model = Model::load(testing::demo_model_path().toStdString(), {.threads = 1});
        std::string document;
        for (int k = 0; k < 12; ++k)
            document += "Line " + std::to_string(k) + ": the mill stands by the river.\n";
        document += "Its wheel turns slowly.";
        const auto prompt = model->chat_template().document_prompt({}, document, {}, "Why?");
        const auto ranges = document_token_ranges(model->tokenizer(), prompt.tokens,
                                                  prompt.document_prefix, document);
        QCOMPARE(ranges.size(), prompt.tokens.size());
        std::string joined;
        for (const ByteRange& r : ranges) joined += slice(document, r);
        QCOMPARE(joined, document);
        // The question's tokens lie outside the document.
        QVERIFY(ranges.back().empty());

        // The last 300 bytes, as a prompt cut to fit the window keeps them.
        const std::string tail = document.substr(document.size() - 300);
        const auto cut = model->chat_template().document_prompt({}, tail, {}, "Why?");
        const auto cutRanges =
            document_token_ranges(model->tokenizer(), cut.tokens, cut.document_prefix, document);
        joined.clear();
        for (const ByteRange& r : cutRanges) joined += slice(document, r);
        QCOMPARE(joined, tail);
        // A prompt without the document maps nothing.
        QVERIFY(document_token_ranges(model->tokenizer(), cut.tokens, cut.document_prefix,
                                      "Something else entirely")
                    .empty());
    }
};

QTEST_APPLESS_MAIN(TestSourcePassages)
#include "tst_source_passages.moc"
