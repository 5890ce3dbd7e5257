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

}  // namespace

AnswerEnd::AnswerEnd(ChatFormat format, std::string_view question, bool enabled)
    : plain_(enabled && format == ChatFormat::Plain) {
    markers_.emplace_back(kNextTurn);
    if (const std::string_view q = text::trimmed(question); q.size() >= kShortestQuestionMarker)
        markers_.emplace_back(q);
}

std::string AnswerEnd::push(std::string_view piece) {
    if (ended_) return {};
    if (!plain_) return std::string(piece);
    held_ += piece;
    // The first marker: a line break after some text, the next turn, or the question again.
    size_t end = std::string::npos;
    for (const std::string& marker : markers_) end = std::min(end, held_.find(marker));
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
    // Hold back the longest tail that could still grow into a marker.
    size_t keep = 0;
    for (const std::string& marker : markers_)
        for (size_t n = std::min(held_.size(), marker.size() - 1); n > keep; --n)
            if (std::string_view(marker).starts_with(
                    std::string_view(held_).substr(held_.size() - n))) {
                keep = n;
                break;
            }
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
