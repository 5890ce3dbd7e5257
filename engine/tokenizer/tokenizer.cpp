// The parts of tokenization every vocabulary shares: token bytes and streaming decode.
#include <cstdio>

#include "selfextend/tokenizer.h"

namespace selfextend {

namespace {
constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581, SentencePiece's space

// "<0x0A>" -> 0x0A; -1 when the piece is not of that form.
int parse_byte_piece(const std::string& piece) {
    unsigned value = 0;
    if (piece.size() == 6 && std::sscanf(piece.c_str(), "<0x%2X>", &value) == 1) return int(value);
    return -1;
}
}  // namespace

std::string Tokenizer::token_bytes(int32_t id) const {
    if (id < 0 || id >= vocab_size()) return {};
    switch (kind(id)) {
        case PieceKind::Control:
        case PieceKind::Unused:
            return {};
        case PieceKind::Unknown:
            return " \xE2\x81\x87 ";  // " ⁇ ", SentencePiece's surface
        case PieceKind::Byte: {
            const int byte = parse_byte_piece(piece(id));
            return byte < 0 ? std::string() : std::string(1, char(byte));
        }
        case PieceKind::Normal:
        case PieceKind::UserDefined:
            break;
    }
    std::string text;
    const std::string& p = piece(id);
    for (size_t at = 0; at < p.size();) {
        if (p.compare(at, kSpaceMarker.size(), kSpaceMarker) == 0) {
            text += ' ';
            at += kSpaceMarker.size();
        } else {
            text += p[at++];
        }
    }
    return text;
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
    StreamDecoder decoder(*this, true);
    std::string text;
    for (const int32_t id : ids) text += decoder.push(id);
    return text + decoder.flush();
}

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool at_text_start)
    : tokenizer_(tokenizer), at_start_(at_text_start) {}

std::string StreamDecoder::push(int32_t id) {
    std::string bytes = tokenizer_.token_bytes(id);
    if (at_start_ && !bytes.empty()) {
        // SentencePiece drops the dummy-prefix space of the text's first piece.
        if (bytes[0] == ' ' && tokenizer_.adds_space_prefix() &&
            tokenizer_.kind(id) == PieceKind::Normal)
            bytes.erase(0, 1);
        at_start_ = false;
    }
    pending_ += bytes;
    const size_t complete = complete_utf8_prefix(pending_);
    std::string ready = replace_invalid_utf8(std::string_view(pending_).substr(0, complete));
    pending_.erase(0, complete);
    return ready;
}

std::string StreamDecoder::flush() {
    std::string rest = replace_invalid_utf8(pending_);
    pending_.clear();
    return rest;
}

}  // namespace selfextend
