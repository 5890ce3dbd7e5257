#include "selfextend/answer_sources.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "selfextend/tokenizer.h"
#include "text/plain_text.h"

namespace selfextend {
namespace {

// The document's end is looked for by its last bytes (a prompt cut to fit holds only its end).
constexpr size_t kAnchorBytes = 200;
constexpr double kSentenceDecay = 0.5;  // an answer word's weight, per sentence into the answer

// Words that say nothing about where an answer came from.
bool is_function_word(std::string_view word) {
    static const std::unordered_set<std::string_view> kWords = {
        "a",    "an",    "the",   "and",   "or",    "but",   "of",  "to",   "in",   "on", "at",
        "by",   "for",   "with",  "from",  "as",    "is",    "was", "are",  "were", "be", "been",
        "it",   "its",   "this",  "that",  "these", "those", "he",  "she",  "they", "we", "you",
        "i",    "his",   "her",   "their", "our",   "your",  "my",  "not",  "no",   "so", "if",
        "then", "there", "here",  "what",  "which", "who",   "has", "have", "had",  "do", "does",
        "did",  "will",  "would", "can",   "could", "s",     "t"};
    return kWords.contains(word);
}

// The distinct words of `text`: runs of ASCII letters and digits, case folded, and of the bytes
// of other characters (UTF-8 sequences), so that names in any script count.
std::unordered_set<std::string> words_of(std::string_view text) {
    std::unordered_set<std::string> words;
    std::string word;
    const auto end_word = [&] {
        if (!word.empty() && !is_function_word(word)) words.insert(word);
        word.clear();
    };
    for (const char c : text) {
        const auto b = static_cast<unsigned char>(c);
        if (std::isalnum(b) || b >= 0x80)
            word += char(std::tolower(b));
        else
            end_word();
    }
    end_word();
    return words;
}

// The answer's words, each weighed by the sentence it first appears in: kSentenceDecay^k for the
// k-th sentence (from 0). An answer states first and rambles after ("It is 4821. was a very
// pretty place, and Anne"): the words of its first sentence say most about where it came from.
std::unordered_map<std::string, double> weighted_words_of(std::string_view answer) {
    std::unordered_map<std::string, double> words;
    double weight = 1.0;
    size_t start = 0;
    for (size_t k = 0; k <= answer.size(); ++k) {
        const bool end =
            k == answer.size() ||
            ((answer[k] == '.' || answer[k] == '!' || answer[k] == '?' || answer[k] == '\n') &&
             (k + 1 == answer.size() || std::isspace(static_cast<unsigned char>(answer[k + 1]))));
        if (!end) continue;
        for (const std::string& word : words_of(answer.substr(start, k - start)))
            words.emplace(word, weight);  // kept at its first (heaviest) sentence
        weight *= kSentenceDecay;
        start = k + 1;
    }
    return words;
}

// Each passage's evidence of `answer` (see rank_passages), the best passage's 1.
std::vector<double> evidence_of(std::string_view document, const std::vector<ByteRange>& passages,
                                std::string_view answer) {
    std::vector<double> evidence(passages.size(), 0.0);
    const std::unordered_map<std::string, double> wanted = weighted_words_of(answer);
    if (wanted.empty()) return evidence;
    std::vector<std::vector<const std::string*>> found(passages.size());
    std::unordered_map<const std::string*, int> holding;  // passages holding each word
    for (size_t p = 0; p < passages.size(); ++p) {
        const ByteRange r = passages[p];
        for (const std::string& word :
             words_of(document.substr(size_t(r.begin), size_t(r.end - r.begin))))
            if (const auto w = wanted.find(word); w != wanted.end()) {
                found[p].push_back(&w->first);
                ++holding[&w->first];
            }
    }
    double best = 0;
    const double n = double(passages.size());
    for (size_t p = 0; p < passages.size(); ++p) {
        for (const std::string* word : found[p])
            evidence[p] += wanted.at(*word) * std::log((n + 1) / double(holding[word]));
        best = std::max(best, evidence[p]);
    }
    if (best > 0)
        for (double& e : evidence) e /= best;
    return evidence;
}

}  // namespace

std::vector<ByteRange> document_token_ranges(const Tokenizer& tokenizer,
                                             std::span<const int32_t> prompt,
                                             int64_t document_prefix, std::string_view document) {
    if (document.empty() || document_prefix <= 0 || document_prefix > int64_t(prompt.size()))
        return {};
    // The prompt decoded token by token: token t is decoded[start[t], start[t + 1]).
    StreamDecoder decoder(tokenizer, true);
    std::string decoded;
    std::vector<int64_t> start(prompt.size() + 1);
    for (size_t t = 0; t < prompt.size(); ++t) {
        start[t] = int64_t(decoded.size());
        decoded += decoder.push(prompt[t]);
    }
    start[prompt.size()] = int64_t(decoded.size());
    decoded += decoder.flush();

    // The document's last bytes, before the first question starts.
    const std::string_view anchor =
        document.substr(document.size() - std::min(kAnchorBytes, document.size()));
    const std::string_view head =
        std::string_view(decoded).substr(0, size_t(start[size_t(document_prefix)]));
    const size_t found = head.rfind(anchor);
    if (found == std::string_view::npos) return {};
    // decoded[offset + k] is document[k] wherever both exist: check that they agree.
    const int64_t end = int64_t(found + anchor.size());
    const int64_t offset = end - int64_t(document.size());
    const int64_t overlap = std::min<int64_t>(end, int64_t(document.size()));
    if (decoded.compare(size_t(end - overlap), size_t(overlap), document,
                        document.size() - size_t(overlap), size_t(overlap)) != 0)
        return {};

    std::vector<ByteRange> ranges(prompt.size());
    const int64_t size = int64_t(document.size());
    for (size_t t = 0; t < prompt.size(); ++t) {
        const int64_t begin = std::clamp<int64_t>(start[t] - offset, 0, size);
        const int64_t stop = std::clamp<int64_t>(start[t + 1] - offset, 0, size);
        ranges[t] = {begin, stop};
    }
    return ranges;
}

std::vector<ByteRange> split_passages(std::string_view document) {
    std::vector<ByteRange> passages;
    const auto add = [&](int64_t begin, int64_t end) {
        const std::string_view passage =
            text::trimmed(document.substr(size_t(begin), size_t(end - begin)));
        const int64_t at = passage.data() - document.data();
        if (!passage.empty()) passages.push_back({at, at + int64_t(passage.size())});
    };
    const auto size = int64_t(document.size());
    int64_t begin = 0;
    for (int64_t k = 0; k < size; ++k) {
        const char c = document[size_t(k)];
        const bool tooLong = k - begin >= kMaxPassageBytes && c == ' ';
        if (c == '\n' || text::ends_sentence(document, size_t(k)) || tooLong) {
            add(begin, k + 1);
            begin = k + 1;
        }
    }
    add(begin, size);
    return passages;
}

std::string passage_preview(std::string_view document, ByteRange passage, size_t max_bytes) {
    std::string line;
    for (const char c :
         document.substr(size_t(passage.begin), size_t(passage.end - passage.begin))) {
        const bool blank = text::is_blank(c);
        if (!(blank && (line.empty() || line.back() == ' '))) line += blank ? ' ' : c;
    }
    if (line.size() <= max_bytes) return line;
    size_t cut = max_bytes;  // back to the first byte of a character (not a 10xxxxxx byte)
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
    return line.substr(0, cut) + "…";
}

std::vector<RankedPassage> rank_passages(std::string_view document,
                                         std::span<const ByteRange> token_ranges,
                                         std::span<const float> mass, int count,
                                         std::string_view answer) {
    const std::vector<ByteRange> passages = split_passages(document);
    if (passages.empty()) return {};
    std::vector<double> passage_mass(passages.size(), 0.0);
    const size_t tokens = std::min(token_ranges.size(), mass.size());
    for (size_t t = 0; t < tokens; ++t) {
        ByteRange r = token_ranges[t];
        if (r.empty()) continue;
        while (r.begin + 1 < r.end && text::is_blank(document[size_t(r.begin)])) ++r.begin;
        // The passage holding the token's first non-blank byte (or the next one after a blank).
        const auto after =
            std::upper_bound(passages.begin(), passages.end(), r.begin,
                             [](int64_t byte, const ByteRange& p) { return byte < p.begin; });
        if (after == passages.begin()) continue;  // blanks before the first passage
        const auto p = after - 1;
        if (r.begin >= p->end) continue;  // blanks between passages
        passage_mass[size_t(p - passages.begin())] += double(mass[t]);
    }
    const double total = std::accumulate(passage_mass.begin(), passage_mass.end(), 0.0);
    if (total <= 0) return {};
    const double most = *std::max_element(passage_mass.begin(), passage_mass.end());
    const bool by_words = !text::trimmed(answer).empty();
    const std::vector<double> evidence =
        by_words ? evidence_of(document, passages, answer) : std::vector<double>(passages.size());
    std::vector<double> score(passages.size());
    for (size_t p = 0; p < passages.size(); ++p)
        score[p] =
            by_words ? evidence[p] + kAttentionTieBreak * passage_mass[p] / most : passage_mass[p];
    std::vector<size_t> order;  // the candidates: with an answer, the passages holding its words
    for (size_t p = 0; p < passages.size(); ++p)
        if (!by_words || evidence[p] > 0) order.push_back(p);
    const size_t top = std::min(order.size(), size_t(std::max(count, 0)));
    std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(top), order.end(),
                      [&](size_t a, size_t b) { return score[a] > score[b]; });
    std::vector<RankedPassage> ranked;
    for (size_t k = 0; k < top; ++k)
        ranked.push_back({passages[order[k]], passage_mass[order[k]] / total, evidence[order[k]]});
    return ranked;
}

}  // namespace selfextend
