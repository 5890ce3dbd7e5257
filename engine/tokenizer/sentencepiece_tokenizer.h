// SentencePiece tokenization through libsentencepiece.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "selfextend/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace selfextend {

class GgufFile;

class SentencePieceTokenizer final : public Tokenizer {
  public:
    static std::unique_ptr<SentencePieceTokenizer> from_file(const std::string& path);
    // From tokenizer.ggml.* keys with tokenizer.ggml.model = "llama" (throws Error otherwise).
    static std::unique_ptr<SentencePieceTokenizer> from_gguf(const GgufFile& gguf);
    ~SentencePieceTokenizer() override;

    std::vector<int32_t> encode(std::string_view text, bool at_start) const override;
    std::optional<size_t> safe_cut(std::string_view text, size_t newline) const override;
    std::vector<int32_t> encode_continuation(std::string_view text) const override;
    int vocab_size() const override { return int(pieces_.size()); }
    const std::string& piece(int32_t id) const override;
    PieceKind kind(int32_t id) const override;
    std::optional<int32_t> find_token(std::string_view piece) const override;
    std::string token_bytes(int32_t id) const override;
    std::string_view kind_name() const override { return "SentencePiece"; }

  private:
    SentencePieceTokenizer();
    void take_vocabulary_from_processor();
    void encode_with(const sentencepiece::SentencePieceProcessor& processor, std::string_view text,
                     std::vector<int32_t>& ids) const;
    // Encodes `text`, whose start is the start of the whole text when `first`: the user-defined
    // pieces that hold a space as whole pieces, the text between them through libsentencepiece.
    void encode_part(std::string_view text, bool first, std::vector<int32_t>& ids) const;
    // The id of the longest spaced user-defined piece at the start of `text`, or -1.
    int32_t spaced_piece_at(std::string_view text) const;

    std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
    // Whether a long text may be encoded in parts cut after newlines, in parallel (it gives the
    // ids of a whole-text encode: no piece joins a newline to another character, whitespace is
    // kept).
    bool parallel_ = false;
    // User-defined pieces are whole pieces of the text, never split (SentencePiece's rule, and
    // llama.cpp's). libsentencepiece matches them itself, except those that hold a space: it turns
    // the text's spaces into U+2581 first, so a piece of spaces (Gemma 3's runs of 2 to 31
    // spaces, ids 138 to 167) would never match. Those are matched here, longest first, and
    // the text between them goes to libsentencepiece (with the dummy prefix at the text's start
    // only).
    std::vector<int32_t> spaced_pieces_;  // longest first
    std::string spaced_firsts_;           // the bytes they start with
    // The vocabulary without its dummy prefix, for text that does not start the whole text (the
    // parts after the first, the text after a spaced piece); null when it has no dummy prefix.
    std::unique_ptr<sentencepiece::SentencePieceProcessor> no_prefix_;
    std::vector<std::string> pieces_;
    std::vector<PieceKind> kinds_;
};

}  // namespace selfextend
