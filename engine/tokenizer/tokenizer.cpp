// The parts of tokenization every vocabulary shares: decoding, whole and streamed, and the
// refusal to encode in parts where a vocabulary cannot.
#include "selfextend/tokenizer.h"

#include "selfextend/error.h"

namespace selfextend {

std::vector<int32_t> Tokenizer::encode_continuation(std::string_view /*text*/) const {
    throw Error("tokenizer: this vocabulary cannot encode a text in parts");
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
