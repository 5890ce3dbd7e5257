// Loading a document for questioning, the same for the CLI and the studio: plain text, Markdown,
// HTML (libxml2), EPUB (libzip + libxml2) and PDF (poppler-cpp, the text layer). Plain text that
// is not valid UTF-8 is read in the encoding uchardet detects (and says which), else decoded with
// replacement and flagged.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace selfextend {

// The formats the readers know, the one list that file dialogs, hints and help are built from.
// A file is read as the format its extension names (a PDF also by its %PDF- header); a file
// with another extension is read as plain text.
struct DocumentFormat {
    std::string_view name;                     // "Plain text", "Markdown", "HTML", "EPUB", "PDF"
    std::vector<std::string_view> extensions;  // lower case with the dot, the usual one first
};
const std::vector<DocumentFormat>& document_formats();
// "*.txt *.text *.md …": every format's extensions as glob patterns (file dialog filters).
std::string document_patterns();
// ".txt, .md, .html, .epub or .pdf": each format's usual extension, for hints and help.
std::string document_extensions_phrase();

struct Document {
    std::string path;
    std::string text;               // UTF-8
    bool had_invalid_utf8 = false;  // bytes were replaced by U+FFFD
    // Plain text that was not UTF-8: the encoding it was detected in and converted from
    // ("ISO-8859-1", "WINDOWS-1252", …); empty for UTF-8 and for formats that say their own.
    std::string encoding;
};

// The format comes from the extension (document_formats): HTML, EPUB (its chapters in spine
// order), anything else as text, except that a file starting with %PDF- is a PDF (its pages in
// order); chapters and pages are separated by blank lines. Throws Error for unreadable, empty
// or binary files, for broken or DRM-encrypted EPUBs and for damaged, password-protected or
// image-only PDFs, saying which.
Document load_text_document(const std::string& path);

// Visible text of an HTML page (libxml2's HTML parser): tags, scripts and styles removed, all
// named and numeric entities decoded, block elements turned into line breaks. The bytes are
// decoded as the page's <meta charset> says, else as UTF-8 (invalid bytes replaced).
std::string html_to_text(const std::string& html);

}  // namespace selfextend
