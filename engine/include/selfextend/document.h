// Loading a document for questioning, the same for the CLI and the studio: plain text, Markdown,
// HTML (libxml2), EPUB (libzip + libxml2) and PDF (poppler-cpp, the text layer). Text that is not
// valid UTF-8 is decoded with replacement and flagged.
#pragma once

#include <string>

namespace selfextend {

struct Document {
    std::string path;
    std::string text;               // UTF-8
    bool had_invalid_utf8 = false;  // bytes were replaced by U+FFFD
};

// The format comes from the extension: .html/.htm/.xhtml as HTML, .epub as EPUB (its chapters in
// spine order), anything else as text, except that a file starting with %PDF- is a PDF (its pages
// in order); chapters and pages are separated by blank lines. Throws Error for unreadable, empty
// or binary files, for broken or DRM-encrypted EPUBs and for damaged, password-protected or
// image-only PDFs, saying which.
Document load_text_document(const std::string& path);

// Visible text of an HTML page (libxml2's HTML parser): tags, scripts and styles removed, all
// named and numeric entities decoded, block elements turned into line breaks. The bytes are
// decoded as the page's <meta charset> says, else as UTF-8 (invalid bytes replaced).
std::string html_to_text(const std::string& html);

}  // namespace selfextend
