// UTF-8 checks used by the streaming decoder and by document loading.
#include <cstdint>

#include "selfextend/tokenizer.h"

namespace selfextend {

namespace {

// Length of the UTF-8 sequence that starts with byte b; 0 when b cannot start one.
int sequence_length(uint8_t b) {
    if (b < 0x80) return 1;
    if (b >= 0xc2 && b <= 0xdf) return 2;
    if (b >= 0xe0 && b <= 0xef) return 3;
    if (b >= 0xf0 && b <= 0xf4) return 4;
    return 0;
}

// Length of a valid sequence at text[at], 0 if invalid, -1 if valid so far but cut off.
int valid_sequence_at(std::string_view text, size_t at) {
    const auto first = uint8_t(text[at]);
    const int length = sequence_length(first);
    if (length == 0) return 0;
    for (int k = 1; k < length; ++k) {
        if (at + size_t(k) >= text.size()) return -1;
        const auto b = uint8_t(text[at + size_t(k)]);
        if ((b & 0xc0) != 0x80) return 0;
        // Reject overlong forms, surrogates and code points past U+10FFFF.
        if (k == 1 && ((first == 0xe0 && b < 0xa0) || (first == 0xed && b > 0x9f) ||
                       (first == 0xf0 && b < 0x90) || (first == 0xf4 && b > 0x8f)))
            return 0;
    }
    return length;
}

}  // namespace

size_t complete_utf8_prefix(std::string_view text) {
    size_t at = 0;
    while (at < text.size()) {
        const int length = valid_sequence_at(text, at);
        if (length < 0) break;
        at +=
            size_t(length == 0 ? 1 : length);  // an invalid byte is "complete": it will not improve
    }
    return at;
}

bool is_valid_utf8(std::string_view text) {
    for (size_t at = 0; at < text.size();) {
        const int length = valid_sequence_at(text, at);
        if (length <= 0) return false;
        at += size_t(length);
    }
    return true;
}

std::string replace_invalid_utf8(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t at = 0; at < text.size();) {
        const int length = valid_sequence_at(text, at);
        if (length <= 0) {
            out += "\xEF\xBF\xBD";
            ++at;
        } else {
            out.append(text.substr(at, size_t(length)));
            at += size_t(length);
        }
    }
    return out;
}

}  // namespace selfextend
