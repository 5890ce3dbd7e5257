// Byte-level BPE (GPT-2's scheme, tokenizer.ggml.model = "gpt2"): text is cut into pre-tokens
// by the vocabulary's pre-tokenizer, each pre-token's bytes start as one symbol per byte (the
// vocabulary spells byte b as one printable character, GPT-2's byte-to-unicode table), and the
// ranked merges join neighbouring symbols, lowest rank first, until none applies.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "selfextend/tokenizer.h"
#include "tokenizer/pre_tokenizer.h"

namespace selfextend {

class GgufFile;
struct GgufValue;

class BpeTokenizer final : public Tokenizer {
  public:
    // From tokenizer.ggml.* keys with tokenizer.ggml.model = "gpt2" (throws Error).
    static std::unique_ptr<BpeTokenizer> from_gguf(const GgufFile& gguf);

    std::vector<int32_t> encode(std::string_view text, bool at_start) const override;
    std::optional<size_t> safe_cut(std::string_view text, size_t newline) const override {
        return pre_tokenizer_.safe_cut(text, newline);
    }
    std::vector<int32_t> encode_continuation(std::string_view text) const override;
    int vocab_size() const override { return int(pieces_.size()); }
    const std::string& piece(int32_t id) const override;
    PieceKind kind(int32_t id) const override;
    std::optional<int32_t> find_token(std::string_view piece) const override;
    std::string token_bytes(int32_t id) const override;
    std::string_view kind_name() const override { return "byte-level BPE"; }
    std::string_view pre_tokenizer_name() const override { return pre_tokenizer_.name(); }

  private:
    explicit BpeTokenizer(PreTokenizer pre_tokenizer);
    void take_byte_tokens();
    void take_merges(const GgufValue& merges);
    void spell_out_surfaces();

    struct Scratch;
    // Appends the ids of text, which begins where the tokenization of a text may begin.
    void encode_part(std::string_view text, std::vector<int32_t>& ids) const;
    // Appends the ids of one pre-token.
    void merge(std::string_view word, Scratch& scratch, std::vector<int32_t>& ids) const;

    struct StringHash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
    };
    struct MergeResult {
        int32_t rank;
        int32_t id;
    };
    static uint64_t pair_key(int32_t left, int32_t right) {
        return uint64_t(uint32_t(left)) << 32 | uint32_t(right);
    }

    PreTokenizer pre_tokenizer_;
    std::vector<std::string> pieces_;
    std::vector<PieceKind> kinds_;
    std::vector<std::string> surfaces_;  // token_bytes of every id
    std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> ids_;
    std::unordered_map<uint64_t, MergeResult> merges_;  // (left id, right id) -> rank, result
    std::array<std::string, 256> byte_chars_;           // UTF-8 of the character for each byte
    std::array<int32_t, 256> byte_ids_{};  // the one-byte token of each byte, -1 for none
};

// GPT-2's byte-to-unicode table: the code point that stands for byte b in a byte-level
// vocabulary. Printable Latin-1 bytes stand for themselves; the 68 others (controls, space, DEL,
// NBSP, soft hyphen) for U+0100 onwards, in byte order: space is U+0120 "Ġ", newline U+010A "Ċ".
uint32_t byte_level_code_point(uint8_t b);

}  // namespace selfextend
