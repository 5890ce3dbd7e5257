#include "tokenizer/pre_tokenizer.h"

#include "selfextend/error.h"

namespace selfextend {

namespace {

// The split patterns, as the reference tokenizers (Hugging Face tokenizer.json files) define
// them.

// GPT-2's: English contractions, letters, numbers and other symbols each with at most one
// leading space, whitespace runs that leave the last space to the word after them.
constexpr std::string_view kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// StarCoder's first step (Digits with individual_digits): every digit is a piece of its own.
constexpr std::string_view kEachDigit = R"(\p{N})";
// Llama 3's: contractions in any case; a letter run takes one leading non-letter that is not a
// line break; numbers in groups of up to three; symbols keep their trailing line breaks.
constexpr std::string_view kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3})"
    R"(| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Qwen2's: Llama 3's, with every digit a number of its own.
constexpr std::string_view kQwen2 = R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N})"
                                    R"(| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

enum class Family { Gpt2, DigitsThenGpt2, Llama3, Qwen2 };

struct KnownName {
    std::string_view name;
    Family family;
};
// tokenizer.ggml.pre values, as llama.cpp's converter writes them.
constexpr KnownName kKnownNames[] = {
    {"gpt2", Family::Gpt2},
    {"gpt-2", Family::Gpt2},
    {"phi-2", Family::Gpt2},  // Phi-2's vocabulary: GPT-2's splitting
    {"smollm", Family::DigitsThenGpt2},
    {"starcoder", Family::DigitsThenGpt2},
    {"refact", Family::DigitsThenGpt2},
    {"llama-bpe", Family::Llama3},
    {"llama3", Family::Llama3},
    {"llama-v3", Family::Llama3},
    {"qwen2", Family::Qwen2},
};

// The members of Unicode's White_Space property, for use inside a character class.
constexpr std::string_view kWhiteSpaceMembers =
    R"(\t\n\x{0B}\f\r\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F})"
    R"(\x{205F}\x{3000})";

// Splits text at every match of regex: matches and the text between them become pieces.
void cut(const Regex& regex, std::string_view text, RegexMatchData& data,
         std::vector<std::string_view>& out) {
    size_t at = 0;      // start of the next piece
    size_t search = 0;  // where to look for the next match
    while (at < text.size()) {
        const auto match = regex.find(text, search, data);
        if (!match) break;
        if (match->end == match->begin) {  // none of our patterns match empty; never loop on one
            search = match->end + 1;
            while (search < text.size() && (uint8_t(text[search]) & 0xC0) == 0x80) ++search;
            if (search >= text.size()) break;
            continue;
        }
        if (match->begin > at) out.push_back(text.substr(at, match->begin - at));
        out.push_back(text.substr(match->begin, match->end - match->begin));
        at = search = match->end;
    }
    if (at < text.size()) out.push_back(text.substr(at));
}

}  // namespace

std::string with_unicode_white_space(std::string_view pattern) {
    std::string out;
    bool in_class = false;
    for (size_t k = 0; k < pattern.size(); ++k) {
        const char c = pattern[k];
        if (c == '\\' && k + 1 < pattern.size()) {
            const char escaped = pattern[++k];
            if (escaped == 's') {
                out += in_class ? std::string(kWhiteSpaceMembers)
                                : "[" + std::string(kWhiteSpaceMembers) + "]";
            } else if (escaped == 'S') {
                if (in_class) throw Error("regex '" + std::string(pattern) + "': \\S in a class");
                out += "[^" + std::string(kWhiteSpaceMembers) + "]";
            } else {
                out += c;
                out += escaped;
            }
            continue;
        }
        if (c == '[') in_class = true;
        if (c == ']') in_class = false;
        out += c;
    }
    return out;
}

PreTokenizer PreTokenizer::named(std::string_view name) {
    if (name.empty()) name = "gpt2";
    for (const KnownName& known : kKnownNames) {
        if (known.name != name) continue;
        switch (known.family) {
            case Family::Gpt2:
                return PreTokenizer(std::string(name), {kGpt2}, false, false);
            case Family::DigitsThenGpt2:
                return PreTokenizer(std::string(name), {kEachDigit, kGpt2}, false, false);
            case Family::Llama3:
                return PreTokenizer(std::string(name), {kLlama3}, true, true);
            case Family::Qwen2:
                return PreTokenizer(std::string(name), {kQwen2}, false, true);
        }
    }
    throw Error("tokenizer: pre-tokenizer '" + std::string(name) +
                "' is not supported (supported: " + supported_names() + ")");
}

std::string PreTokenizer::supported_names() {
    std::string names;
    for (const KnownName& known : kKnownNames)
        names += (names.empty() ? "" : ", ") + std::string(known.name);
    return names;
}

PreTokenizer::PreTokenizer(std::string name, const std::vector<std::string_view>& patterns,
                           bool ignore_merges, bool line_breaks_whole)
    : name_(std::move(name)), ignore_merges_(ignore_merges), line_breaks_whole_(line_breaks_whole) {
    stages_.reserve(patterns.size());
    for (const std::string_view pattern : patterns)
        stages_.emplace_back(with_unicode_white_space(pattern));
}

PreTokenizer::Scratch::Scratch(const PreTokenizer& pre_tokenizer) {
    match_data_.reserve(pre_tokenizer.stages_.size());
    for (const Regex& stage : pre_tokenizer.stages_) match_data_.emplace_back(stage);
}

void PreTokenizer::split(std::string_view text, Scratch& scratch,
                         std::vector<std::string_view>& pieces) const {
    // All stages but the last cut into scratch; the last appends to pieces.
    std::vector<std::string_view> current = {text};
    for (size_t s = 0; s + 1 < stages_.size(); ++s) {
        scratch.next_.clear();
        for (const std::string_view piece : current)
            cut(stages_[s], piece, scratch.match_data_[s], scratch.next_);
        std::swap(current, scratch.next_);
    }
    for (const std::string_view piece : current)
        cut(stages_.back(), piece, scratch.match_data_.back(), pieces);
}

// No pattern joins a line break to a letter after it, and a line break after a printable
// character is a piece of its own or ends the piece before it, at the end of a text as in its
// middle. GPT-2's "\s+(?!\S)" takes "\r" alone before "\n" (and "\r\n" whole at the end of a
// text), so there the cut goes between them; Llama 3's "\s*[\r\n]+" keeps "\r\n" whole.
std::optional<size_t> PreTokenizer::safe_cut(std::string_view text, size_t newline) const {
    auto is_letter = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); };
    auto is_printable = [](char c) { return c > ' ' && c < 0x7F; };
    if (newline >= text.size() || text[newline] != '\n' || newline + 1 >= text.size() ||
        !is_letter(text[newline + 1]))
        return std::nullopt;
    const bool crlf = newline >= 1 && text[newline - 1] == '\r';
    const size_t line_break = crlf ? newline - 1 : newline;
    if (line_break == 0 || !is_printable(text[line_break - 1])) return std::nullopt;
    return crlf && !line_breaks_whole_ ? newline : newline + 1;
}

}  // namespace selfextend
