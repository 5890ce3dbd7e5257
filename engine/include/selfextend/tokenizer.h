// Text <-> token ids. Llama-family models use SentencePiece (read from a tokenizer.model file or
// rebuilt from the vocabulary stored in a GGUF); GPT-2-style models (SmolLM2, Qwen2, Llama 3) use
// byte-level BPE with merges, rebuilt from the GGUF.
//
// Text given to encode() is always plain text: control tokens such as <|im_start|> are never
// produced from it, even when the text spells them; chat templates look their ids up with
// find_token() and insert them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
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

    // at_start: the text begins a sequence, so the vocabulary's BOS (and EOS) is added when the
    // vocabulary asks for it (tokenizer.ggml.add_bos_token; SmolLM2's does not).
    virtual std::vector<int32_t> encode(std::string_view text, bool at_start) const = 0;

    // Encoding a text in two parts, so that a long text's first part is encoded once and many
    // continuations after it: where `text` may be cut near its newline at text[newline] with no
    // token spanning the cut, so that encode(text[0, cut)) followed by encode_continuation(
    // text[cut, end)) gives the ids of encode(text); nullopt where it may not (some vocabularies
    // never may).
    virtual std::optional<size_t> safe_cut(std::string_view /*text*/, size_t /*newline*/) const {
        return std::nullopt;
    }
    // The ids of text that continues a text cut at a safe_cut: no BOS, no dummy prefix. Throws
    // Error for a vocabulary whose safe_cut never allows a cut.
    virtual std::vector<int32_t> encode_continuation(std::string_view text) const;
    // The text of ids. A SentencePiece dummy-prefix space is dropped at the start.
    std::string decode(std::span<const int32_t> ids) const;

    virtual int vocab_size() const = 0;
    // Raw piece as the vocabulary stores it, e.g. "▁The", "<0x0A>" (SentencePiece) or "ĠThe"
    // (byte-level BPE).
    virtual const std::string& piece(int32_t id) const = 0;
    virtual PieceKind kind(int32_t id) const = 0;
    // The id of the token whose raw piece is exactly `piece` (e.g. "<|im_start|>"), if any.
    virtual std::optional<int32_t> find_token(std::string_view piece) const = 0;
    // The bytes a token stands for in decoded text; control tokens and ids out of range stand
    // for nothing. SentencePiece: "▁" becomes a space, byte pieces their byte, the unknown piece
    // " ⁇ ". Byte-level BPE: each character of the piece maps back to the byte it encodes.
    virtual std::string token_bytes(int32_t id) const = 0;

    // What kind of vocabulary this is, for display: "SentencePiece" or "byte-level BPE".
    virtual std::string_view kind_name() const = 0;
    // The pre-tokenizer (tokenizer.ggml.pre) of a byte-level BPE vocabulary, else empty.
    virtual std::string_view pre_tokenizer_name() const { return {}; }

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

// The tokenizer of a GGUF file, which may be a model or hold only a vocabulary (llama.cpp's
// ggml-vocab-*.gguf test files have no tensors). Throws Error.
struct GgufVocabulary {
    std::unique_ptr<Tokenizer> tokenizer;
    bool vocabulary_only = false;  // the file holds no tensors
};
GgufVocabulary load_gguf_vocabulary(const std::string& path);

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
