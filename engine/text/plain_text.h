// The few rules about plain text that answers, passages and probes share: which bytes are blank,
// a text without its blank ends, where a sentence ends. ASCII only: every byte they look at is
// below 0x80, so they never split a UTF-8 sequence.
#pragma once

#include <string_view>

namespace selfextend::text {

// Space, tab, line feed or carriage return.
constexpr bool is_blank(char c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

constexpr std::string_view trimmed(std::string_view text) {
    while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
    return text;
}

// Whether text[k] ends a sentence: '.', '!' or '?' followed by a blank or the end of the text.
constexpr bool ends_sentence(std::string_view text, size_t k) {
    const char c = text[k];
    return (c == '.' || c == '!' || c == '?') && (k + 1 == text.size() || is_blank(text[k + 1]));
}

static_assert(trimmed(" \tA b.\r\n") == "A b.");
static_assert(ends_sentence("Yes. No", 3) && ends_sentence("Yes.", 3) && !ends_sentence("3.5", 1));

}  // namespace selfextend::text
