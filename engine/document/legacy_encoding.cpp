// Plain text that is not UTF-8: its encoding detected by uchardet (Mozilla's universal charset
// detector, as Debian packages it) and converted with iconv.
#include <iconv.h>
#include <uchardet/uchardet.h>

#include <cerrno>
#include <memory>

#include "document/formats.h"
#include "selfextend/tokenizer.h"

namespace selfextend::formats {
namespace {

struct UchardetDelete {
    void operator()(uchardet* detector) const { uchardet_delete(detector); }
};

struct IconvClose {
    void operator()(void* converter) const { iconv_close(static_cast<iconv_t>(converter)); }
};

// What uchardet names the bytes' encoding; empty when it cannot tell.
std::string detect(const std::string& bytes) {
    const std::unique_ptr<uchardet, UchardetDelete> detector(uchardet_new());
    if (!detector || uchardet_handle_data(detector.get(), bytes.data(), bytes.size()) != 0)
        return {};
    uchardet_data_end(detector.get());
    const char* charset = uchardet_get_charset(detector.get());
    return charset ? std::string(charset) : std::string();
}

// The bytes converted from `encoding` to UTF-8, or nothing when iconv does not know it or a
// byte is not valid in it.
std::optional<std::string> convert(const std::string& bytes, const std::string& encoding) {
    const iconv_t raw = iconv_open("UTF-8", encoding.c_str());
    if (raw == iconv_t(-1)) return std::nullopt;
    const std::unique_ptr<void, IconvClose> converter(raw);
    std::string out(bytes.size() * 4 + 16, '\0');  // UTF-8 takes at most 4 bytes a character
    char* in_at = const_cast<char*>(bytes.data());
    size_t in_left = bytes.size();
    char* out_at = out.data();
    size_t out_left = out.size();
    if (iconv(raw, &in_at, &in_left, &out_at, &out_left) == size_t(-1) || in_left != 0)
        return std::nullopt;
    out.resize(out.size() - out_left);
    return out;
}

// Whether the bytes hold a well-formed UTF-8 sequence of two or more bytes: then they are UTF-8
// with some damage (a stray byte, a cut file), which replacement shows, and read in a legacy
// encoding every accented letter would turn into two wrong ones.
bool has_utf8_multibyte(const std::string& bytes) {
    for (size_t k = 0; k < bytes.size(); ++k) {
        const auto lead = static_cast<unsigned char>(bytes[k]);
        const int length = lead >= 0xC2 && lead <= 0xDF   ? 2
                           : lead >= 0xE0 && lead <= 0xEF ? 3
                           : lead >= 0xF0 && lead <= 0xF4 ? 4
                                                          : 0;
        if (length == 0 || k + size_t(length) > bytes.size()) continue;
        if (is_valid_utf8(std::string_view(bytes).substr(k, size_t(length)))) return true;
    }
    return false;
}

}  // namespace

std::optional<LegacyText> decode_legacy_encoding(const std::string& bytes) {
    if (has_utf8_multibyte(bytes)) return std::nullopt;
    const std::string encoding = detect(bytes);
    // ASCII or UTF-8 would be valid UTF-8 already; what is left is a single- or multi-byte
    // legacy encoding that iconv converts, or nothing known.
    if (encoding.empty() || encoding == "ASCII" || encoding == "UTF-8") return std::nullopt;
    std::optional<std::string> text = convert(bytes, encoding);
    if (!text || !is_valid_utf8(*text)) return std::nullopt;
    return LegacyText{std::move(*text), encoding};
}

}  // namespace selfextend::formats
