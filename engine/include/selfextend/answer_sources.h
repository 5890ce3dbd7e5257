// Where an answer came from: the document passages the answer's tokens attended to most
// (Session::attention_mass), for the studio's highlights and `selfextend-cli ask --sources`.
//
// The prompt is template + document + question, tokenized as a whole, so the document's tokens
// are found by decoding the prompt token by token (summing each token's bytes) and locating the
// document's text in that decoded prompt; a token's mass then goes to the passage holding its
// first non-blank byte. Passages are the document's sentences and lines (long ones cut near
// kMaxPassageBytes), ranked by their summed mass.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace selfextend {

class Tokenizer;

// A half-open range of UTF-8 bytes in the document.
struct ByteRange {
    int64_t begin = 0;
    int64_t end = 0;
    bool empty() const { return end <= begin; }
};

// For each prompt token, the bytes of `document` it decodes to (empty outside the document).
// The document (or, for a prompt cut to fit, its end) must end before the token at
// document_prefix, where the first question starts. Empty when the document's text is not found
// there.
std::vector<ByteRange> document_token_ranges(const Tokenizer& tokenizer,
                                             std::span<const int32_t> prompt,
                                             int64_t document_prefix, std::string_view document);

// The document's sentences and lines, blanks trimmed, in order; none is longer than about
// kMaxPassageBytes (longer ones are cut at a space).
inline constexpr int64_t kMaxPassageBytes = 160;
std::vector<ByteRange> split_passages(std::string_view document);

// A passage and its share of the attention the answer gave the document.
struct RankedPassage {
    ByteRange bytes;
    double share = 0;
};

// The `count` passages with the most mass, best first. mass: one value per prompt position
// (more are ignored: the answer's own tokens). Empty when the document got no mass.
std::vector<RankedPassage> rank_passages(std::string_view document,
                                         std::span<const ByteRange> token_ranges,
                                         std::span<const float> mass, int count);

// A passage on one line for a listing: each run of blanks (line breaks too) one space, and past
// max_bytes cut at a character boundary and ended with "…".
std::string passage_preview(std::string_view document, ByteRange passage, size_t max_bytes);

}  // namespace selfextend
