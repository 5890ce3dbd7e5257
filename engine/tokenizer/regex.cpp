#include "tokenizer/regex.h"

#include "selfextend/error.h"

namespace selfextend {

namespace {

std::string pcre2_message(int code) {
    PCRE2_UCHAR buffer[256];
    return pcre2_get_error_message(code, buffer, sizeof buffer) < 0
               ? "PCRE2 error " + std::to_string(code)
               : std::string(reinterpret_cast<const char*>(buffer));
}

}  // namespace

Regex::Regex(std::string_view pattern) : pattern_(pattern) {
    int error = 0;
    PCRE2_SIZE error_at = 0;
    code_.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                              PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error, &error_at,
                              nullptr));
    if (!code_)
        throw Error("regex '" + pattern_ + "': " + pcre2_message(error) + " at offset " +
                    std::to_string(error_at));
    // Without JIT support (some platforms) the interpreter gives the same matches, slower.
    pcre2_jit_compile(code_.get(), PCRE2_JIT_COMPLETE);
}

std::optional<Regex::Match> Regex::find(std::string_view subject, size_t from,
                                        RegexMatchData& data) const {
    if (from > subject.size()) return std::nullopt;
    const int rc = pcre2_match(code_.get(), reinterpret_cast<PCRE2_SPTR>(subject.data()),
                               subject.size(), from, 0, data.data_.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) return std::nullopt;
    if (rc < 0) throw Error("regex '" + pattern_ + "': " + pcre2_message(rc));
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.data_.get());
    return Match{ovector[0], ovector[1]};
}

RegexMatchData::RegexMatchData(const Regex& regex)
    : data_(pcre2_match_data_create_from_pattern(regex.code_.get(), nullptr)) {
    if (!data_) throw Error("regex: out of memory for match data");
}

}  // namespace selfextend
