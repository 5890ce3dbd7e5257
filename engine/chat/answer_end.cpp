#include <algorithm>
#include <cctype>

#include "selfextend/chat.h"

namespace selfextend {

namespace {

constexpr std::string_view kNextTurn = "Question:";  // the plain format's user turn

bool has_word(std::string_view text) {
    return std::any_of(text.begin(), text.end(),
                       [](unsigned char c) { return std::isspace(c) == 0; });
}

}  // namespace

AnswerEnd::AnswerEnd(ChatFormat format, bool enabled)
    : plain_(enabled && format == ChatFormat::Plain) {}

std::string AnswerEnd::push(std::string_view piece) {
    if (ended_) return {};
    if (!plain_) return std::string(piece);
    held_ += piece;
    // The first marker: a line break after some text, or the next turn's "Question:".
    size_t end = held_.find(kNextTurn);
    for (size_t at = held_.find('\n'); at != std::string::npos && at < end;
         at = held_.find('\n', at + 1))
        if (saw_text_ || has_word(std::string_view(held_).substr(0, at))) {
            end = at;
            break;
        }
    if (end != std::string::npos) {
        ended_ = true;
        std::string answer = held_.substr(0, end);
        held_.clear();
        return answer;
    }
    // Hold back the longest tail that could still grow into "Question:".
    size_t keep = std::min(held_.size(), kNextTurn.size() - 1);
    while (keep > 0 && !kNextTurn.starts_with(std::string_view(held_).substr(held_.size() - keep)))
        --keep;
    std::string shown = held_.substr(0, held_.size() - keep);
    held_.erase(0, held_.size() - keep);
    if (has_word(shown)) saw_text_ = true;
    return shown;
}

std::string AnswerEnd::flush() {
    std::string rest;
    rest.swap(held_);
    return ended_ ? std::string() : rest;
}

}  // namespace selfextend
