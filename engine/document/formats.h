// The document formats load_text_document reads besides plain text, one file each. Every reader
// takes the file's bytes (already checked for size and emptiness) and returns UTF-8 text, or
// throws Error with a sentence a user can act on.
#pragma once

#include <optional>
#include <string>

namespace selfextend::formats {

// HTML or XHTML bytes in the encoding their <meta charset> declares (UTF-8 when none does).
// had_invalid_utf8 is set when undeclared or UTF-8 text held invalid bytes (they are replaced).
// with_head: whether the <head>'s text (the <title>) is part of it.
std::string html_bytes_to_text(const std::string& bytes, bool& had_invalid_utf8,
                               bool with_head = true);

// The chapters of an EPUB in reading (spine) order, separated by blank lines. path names the
// file in errors.
std::string epub_to_text(const std::string& bytes, const std::string& path, bool& had_invalid_utf8);

// The text layer of a PDF, page by page, pages separated by blank lines.
std::string pdf_to_text(const std::string& bytes, const std::string& path);

// Plain text that is not valid UTF-8, in the legacy encoding uchardet detects (Latin-1,
// Windows-1252, Shift_JIS, KOI8-R, …), converted to UTF-8; nothing when no encoding is detected
// or the bytes are not valid in it (the caller then replaces invalid bytes).
struct LegacyText {
    std::string text;      // UTF-8
    std::string encoding;  // as uchardet names it, e.g. "ISO-8859-1"
};
std::optional<LegacyText> decode_legacy_encoding(const std::string& bytes);

}  // namespace selfextend::formats
