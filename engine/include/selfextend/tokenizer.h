// Text <-> token ids. Llama-family models use SentencePiece (read from a tokenizer.model file or
// rebuilt from the vocabulary stored in a GGUF); the interface leaves room for BPE vocabularies.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace selfextend {

enum class PieceKind { Normal, Unknown, Control, UserDefined, Unused, Byte };

class Tokenizer {
  public:
    virtual ~Tokenizer() = default;

    // Loads a SentencePiece tokenizer.model file (throws Error).
    static std::unique_ptr<Tokenizer> from_sentencepiece_file(const std::string& path);

    virtual std::vector<int32_t> encode(std::string_view text, bool add_bos) const = 0;
    // Decodes as SentencePiece does: the space of the dummy prefix is dropped at the start.
    std::string decode(std::span<const int32_t> ids) const;

    virtual int vocab_size() const = 0;
    virtual const std::string& piece(int32_t id) const = 0;  // raw piece, e.g. "▁The", "<0x0A>"
    virtual PieceKind kind(int32_t id) const = 0;
    // The bytes a token stands for in decoded text: "▁" becomes a space, byte pieces their byte,
    // control pieces nothing, the unknown piece " ⁇ ".
    std::string token_bytes(int32_t id) const;

    int32_t bos_id() const { return bos_id_; }
    int32_t eos_id() const { return eos_id_; }
    int32_t unk_id() const { return unk_id_; }
    bool adds_bos() const { return add_bos_; }
    bool adds_eos() const { return add_eos_; }
    bool adds_space_prefix() const { return add_space_prefix_; }

  protected:
    int32_t bos_id_ = 1;
    int32_t eos_id_ = 2;
    int32_t unk_id_ = 0;
    bool add_bos_ = true;
    bool add_eos_ = false;
    bool add_space_prefix_ = true;
};

// Turns a stream of token ids into UTF-8 text for display, holding back byte pieces and partial
// UTF-8 sequences until they are complete.
class StreamDecoder {
  public:
    // at_text_start: the first token begins the text, so a dummy-prefix space is dropped.
    StreamDecoder(const Tokenizer& tokenizer, bool at_text_start);
    std::string push(int32_t id);  // text completed by this token (may be empty)
    std::string flush();           // whatever is held back, invalid bytes replaced by U+FFFD

  private:
    const Tokenizer& tokenizer_;
    bool at_start_;
    std::string pending_;
};

// Length of the longest prefix of text made of whole UTF-8 sequences.
size_t complete_utf8_prefix(std::string_view text);
// True when text is valid UTF-8.
bool is_valid_utf8(std::string_view text);
// Text with every invalid UTF-8 sequence replaced by U+FFFD.
std::string replace_invalid_utf8(std::string_view text);

}  // namespace selfextend
