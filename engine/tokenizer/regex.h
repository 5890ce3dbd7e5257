// Unicode regular expressions through PCRE2 (UTF-8, Unicode properties, JIT-compiled when the
// platform allows). Invalid UTF-8 in a subject is never matched by anything rather than being an
// error, so callers can pass any bytes.
#pragma once

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace selfextend {

class RegexMatchData;

class Regex {
  public:
    // Compiles pattern (throws Error naming the pattern and the position of a mistake).
    explicit Regex(std::string_view pattern);

    struct Match {
        size_t begin = 0;
        size_t end = 0;
    };
    // The first match in subject that starts at or after `from`. Lookarounds see the whole
    // subject and nothing beyond it.
    std::optional<Match> find(std::string_view subject, size_t from, RegexMatchData& data) const;

    const std::string& pattern() const { return pattern_; }

  private:
    friend class RegexMatchData;
    struct CodeDeleter {
        void operator()(pcre2_code* code) const { pcre2_code_free(code); }
    };
    std::string pattern_;
    std::unique_ptr<pcre2_code, CodeDeleter> code_;
};

// Scratch space for matching: one per thread (a compiled Regex may be shared by threads).
class RegexMatchData {
  public:
    explicit RegexMatchData(const Regex& regex);

  private:
    friend class Regex;
    struct DataDeleter {
        void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
    };
    std::unique_ptr<pcre2_match_data, DataDeleter> data_;
};

}  // namespace selfextend
