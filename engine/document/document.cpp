// Reads documents as UTF-8 text: plain text and Markdown as they are, HTML reduced to its
// visible text (html.cpp), EPUB chapters in reading order (epub.cpp), the text layer of PDFs
// (pdf.cpp). Binary files are refused;
// invalid UTF-8 is replaced and flagged.
#include "selfextend/document.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "document/formats.h"
#include "selfextend/error.h"
#include "selfextend/tokenizer.h"

namespace selfextend {

namespace {

constexpr uint64_t kMaxDocumentBytes = uint64_t(512) << 20;

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    return text;
}

// Whether the path's extension is one of the named format's (document_formats()).
bool is_format(const std::string& path, std::string_view format_name) {
    const std::string name = lower(path);
    for (const DocumentFormat& format : document_formats()) {
        if (format.name != format_name) continue;
        for (const std::string_view e : format.extensions)
            if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0)
                return true;
    }
    return false;
}

// Binary files hold NUL bytes or many control characters near their start.
bool looks_binary(const std::string& bytes) {
    const size_t probe = std::min<size_t>(bytes.size(), 8192);
    size_t control = 0;
    for (size_t k = 0; k < probe; ++k) {
        const auto c = static_cast<unsigned char>(bytes[k]);
        if (c == 0) return true;
        if (c < 32 && c != '\n' && c != '\r' && c != '\t' && c != '\f') ++control;
    }
    return probe > 0 && control * 10 > probe;
}

}  // namespace

Document load_text_document(const std::string& path) {
    std::error_code error;
    if (std::filesystem::exists(path, error) && !std::filesystem::is_regular_file(path, error))
        throw Error("'" + path + "' is not a file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot open '" + path + "'");
    in.seekg(0, std::ios::end);
    const auto size = in.tellg();
    if (size < 0) throw Error("cannot read '" + path + "'");
    if (uint64_t(size) > kMaxDocumentBytes) throw Error("'" + path + "' is larger than 512 MiB");
    in.seekg(0);
    std::string bytes(size_t(size), '\0');
    if (!in.read(bytes.data(), size)) throw Error("cannot read '" + path + "'");
    if (bytes.size() >= 3 && bytes.compare(0, 3, "\xEF\xBB\xBF") == 0) bytes.erase(0, 3);  // BOM
    if (bytes.find_first_not_of(" \t\r\n\f") == std::string::npos)
        throw Error("'" + path + "' is empty");
    Document document;
    document.path = path;
    // Formats with their own container come first: their bytes look binary. A PDF is known by
    // its header whatever its name.
    if (bytes.compare(0, 5, "%PDF-") == 0) {
        document.text = formats::pdf_to_text(bytes, path);
        document.had_invalid_utf8 = false;
        return document;
    }
    if (is_format(path, "PDF"))
        throw Error("'" + path + "' is not a PDF: it does not start with %PDF-");
    if (is_format(path, "EPUB")) {
        document.text = formats::epub_to_text(bytes, path, document.had_invalid_utf8);
        if (document.text.empty()) throw Error("'" + path + "' has no visible text");
        return document;
    }
    if (looks_binary(bytes)) throw Error("'" + path + "' looks like a binary file, not text");
    if (is_format(path, "HTML")) {
        // The raw bytes: the page's <meta charset> says how to decode them.
        document.text = formats::html_bytes_to_text(bytes, document.had_invalid_utf8);
        if (document.text.empty()) throw Error("'" + path + "' has no visible text");
    } else if (is_valid_utf8(bytes)) {
        document.text = std::move(bytes);
    } else if (auto legacy = formats::decode_legacy_encoding(bytes)) {
        document.text = std::move(legacy->text);
        document.encoding = std::move(legacy->encoding);
    } else {
        document.had_invalid_utf8 = true;
        document.text = replace_invalid_utf8(bytes);
    }
    // Line endings as the tokenizer expects them.
    document.text.erase(std::remove(document.text.begin(), document.text.end(), '\r'),
                        document.text.end());
    return document;
}

}  // namespace selfextend
