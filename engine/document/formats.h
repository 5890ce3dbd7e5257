// The document formats load_text_document reads besides plain text, one file each. Every reader
// takes the file's bytes (already checked for size and emptiness) and returns UTF-8 text, or
// throws Error with a sentence a user can act on.
#pragma once

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

}  // namespace selfextend::formats
