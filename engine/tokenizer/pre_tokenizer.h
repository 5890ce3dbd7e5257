// The pre-tokenizers of byte-level BPE vocabularies: how text is cut into pre-tokens before BPE
// merges run inside each one. A GGUF names its pre-tokenizer in tokenizer.ggml.pre; each is a
// sequence of regex splits, every split cutting the pieces of the one before. Both the matches
// and the text between them become pieces, so no byte is ever dropped.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/regex.h"

namespace selfextend {

class PreTokenizer {
  public:
    // The pre-tokenizer a tokenizer.ggml.pre value names (throws Error naming it and listing
    // the supported ones). An empty name means the key is absent: GPT-2's.
    static PreTokenizer named(std::string_view name);
    // "gpt2, gpt-2, smollm, ..." for messages.
    static std::string supported_names();

    const std::string& name() const { return name_; }
    // Llama-3 takes a pre-token that is a whole vocabulary entry as is, without merging.
    bool ignore_merges() const { return ignore_merges_; }

    // Per-thread state for split().
    class Scratch {
      public:
        explicit Scratch(const PreTokenizer& pre_tokenizer);

      private:
        friend class PreTokenizer;
        std::vector<RegexMatchData> match_data_;
        std::vector<std::string_view> next_;
    };
    // Appends the pre-tokens of text, in order, to pieces (views into text).
    void split(std::string_view text, Scratch& scratch,
               std::vector<std::string_view>& pieces) const;

    // Where text may be cut near its newline at text[newline] so that the two sides split as
    // the whole does, if there: at a line break ("\n" or "\r\n") between a printable ASCII
    // character and an ASCII letter.
    std::optional<size_t> safe_cut(std::string_view text, size_t newline) const;

  private:
    PreTokenizer(std::string name, const std::vector<std::string_view>& patterns,
                 bool ignore_merges, bool line_breaks_whole);

    std::string name_;
    std::vector<Regex> stages_;
    bool ignore_merges_ = false;
    bool line_breaks_whole_ = false;  // "\r\n" is one piece (Llama 3), not "\r", "\n" (GPT-2)
};

// The pattern with \s, \S and [^\s...] spelled out as Unicode White_Space, the class the
// reference tokenizers use (PCRE2's own \s adds U+180E, a format character since Unicode 6.3).
std::string with_unicode_white_space(std::string_view pattern);

}  // namespace selfextend
