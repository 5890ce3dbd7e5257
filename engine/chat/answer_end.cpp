#include <algorithm>

#include "selfextend/chat.h"
#include "text/plain_text.h"

namespace selfextend {

namespace {

constexpr std::string_view kNextTurn = "Question:";  // the plain format's user turn
constexpr size_t kShortestQuestionMarker = 12;

bool has_word(std::string_view piece) {
    return !text::trimmed(piece).empty();
}

bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\r';
}

// Whether text that ends here ends a sentence: its last visible character (past closing quotes
// and brackets) is one of . ! ? : ;
bool ends_sentence(std::string_view text) {
    while (!text.empty() && (is_blank(text.back()) || text.back() == '"' || text.back() == '\'' ||
                             text.back() == ')' || text.back() == ']' || text.back() == '*'))
        text.remove_suffix(1);
    // Closing quotes of more than one byte: ” and ’ (U+201D, U+2019).
    while (text.ends_with("\xE2\x80\x9D") || text.ends_with("\xE2\x80\x99")) text.remove_suffix(3);
    return !text.empty() && std::string_view(".!?:;").find(text.back()) != std::string_view::npos;
}

}  // namespace

AnswerEnd::AnswerEnd(ChatFormat format, std::string_view question, bool enabled)
    : plain_(enabled && format == ChatFormat::Plain) {
    markers_.strings.emplace_back(kNextTurn);
    add_question(question);
}

void AnswerEnd::add_question(std::string_view question) {
    if (const std::string_view q = text::trimmed(question); q.size() >= kShortestQuestionMarker)
        markers_.strings.emplace_back(q);
}

std::string AnswerEnd::push(std::string_view piece) {
    if (ended_) return {};
    if (!plain_) return std::string(piece);
    held_ += piece;
    // The first marker: the next turn, or the question again.
    size_t end = markers_.first_in(held_);
    // Or a line break that ends a sentence or a paragraph after some text. A line break inside
    // a sentence is a hard wrap (a base model copies a book's): the answer goes on after it.
    size_t undecided = held_.size();  // from here on, held until the next piece decides
    for (size_t at = held_.find('\n'); at != std::string::npos && at < end;
         at = held_.find('\n', at + 1)) {
        const std::string_view before = std::string_view(held_).substr(0, at);
        if (!saw_text_ && !has_word(before)) continue;  // blank lines before the answer
        const bool sentence = has_word(before) ? ends_sentence(before) : ends_sentence(last_text_);
        size_t next = at + 1;
        while (next < held_.size() && is_blank(held_[next])) ++next;
        if (sentence || (next < held_.size() && held_[next] == '\n')) {
            end = at;
            break;
        }
        if (next == held_.size()) {  // a blank line may follow: wait and see
            undecided = at;
            break;
        }
    }
    if (end != std::string::npos) {
        ended_ = true;
        std::string answer = held_.substr(0, end);
        held_.clear();
        return answer;
    }
    // Hold back the longest tail that could still grow into a marker.
    const size_t shown_bytes = std::min(held_.size() - markers_.undecided_tail(held_), undecided);
    std::string shown = held_.substr(0, shown_bytes);
    held_.erase(0, shown_bytes);
    if (has_word(shown)) {
        saw_text_ = true;
        last_text_ = text::trimmed(shown);
    }
    return shown;
}

std::string AnswerEnd::flush() {
    std::string rest;
    rest.swap(held_);
    return ended_ ? std::string() : rest;
}

}  // namespace selfextend
