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

// A passage, its share of the attention the answer gave the document, and how much of the
// answer's wording it holds.
struct RankedPassage {
    ByteRange bytes;
    double share = 0;     // of the answer's attention on the document, 0 to 1
    double evidence = 0;  // the answer's words found in it, weighted by their rarity; 0 to 1
};

// The `count` passages the answer most likely came from, best first. mass: one value per prompt
// position (more are ignored: the answer's own tokens).
//
// Attention alone points near the evidence but not reliably at it (a small model's mass
// averaged over all heads favours the passages just before the question), so with an `answer`
// the passages are ranked by the answer's own words found in them first: each word of the
// answer (letters and digits, case folded, common function words left out) that the document
// holds counts log(passages / passages holding it), so a code or a name found in one passage
// outweighs words found everywhere, times one half per sentence of the answer before the one it
// first appears in (an answer states first and rambles after); a passage's evidence is its sum
// over the sum of the best passage. Rank: evidence + kAttentionTieBreak × mass / the largest mass.
// Without any of the answer's words in the document (the answer states nothing from it) the list is
// empty; without an answer (empty), passages are ranked by attention alone. Empty too when the
// document got no mass.
inline constexpr double kAttentionTieBreak = 0.25;
std::vector<RankedPassage> rank_passages(std::string_view document,
                                         std::span<const ByteRange> token_ranges,
                                         std::span<const float> mass, int count,
                                         std::string_view answer = {});

// A passage on one line for a listing: each run of blanks (line breaks too) one space, and past
// max_bytes cut at a character boundary and ended with "…".
std::string passage_preview(std::string_view document, ByteRange passage, size_t max_bytes);

}  // namespace selfextend
