// Loading a document for questioning: plain text, Markdown, HTML (libxml2) and EPUB (libzip +
// libxml2) are read here; the GUI adds PDF through Qt. Text that is not valid UTF-8 is decoded
// with replacement and flagged.
#pragma once

#include <string>

namespace selfextend {

struct Document {
    std::string path;
    std::string text;               // UTF-8
    bool had_invalid_utf8 = false;  // bytes were replaced by U+FFFD
};

// The format comes from the extension: .html/.htm/.xhtml as HTML, .epub as EPUB (its chapters in
// spine order, separated by blank lines), anything else as text. Throws Error for unreadable,
// empty or binary files, for broken or DRM-encrypted EPUBs (saying which), and for PDFs (the GUI
// reads those with Qt).
Document load_text_document(const std::string& path);

// Visible text of an HTML page (libxml2's HTML parser): tags, scripts and styles removed, all
// named and numeric entities decoded, block elements turned into line breaks. The bytes are
// decoded as the page's <meta charset> says, else as UTF-8 (invalid bytes replaced).
std::string html_to_text(const std::string& html);

}  // namespace selfextend
