// The one list of document formats (selfextend/document.h).
#include "selfextend/document.h"

namespace selfextend {

const std::vector<DocumentFormat>& document_formats() {
    static const std::vector<DocumentFormat> kFormats = {
        {"Plain text", {".txt", ".text"}},
        {"Markdown", {".md", ".markdown"}},
        {"HTML", {".html", ".htm", ".xhtml"}},
        {"EPUB", {".epub"}},
        {"PDF", {".pdf"}},
    };
    return kFormats;
}

std::string document_patterns() {
    std::string patterns;
    for (const DocumentFormat& format : document_formats())
        for (const std::string_view extension : format.extensions) {
            if (!patterns.empty()) patterns += ' ';
            patterns += '*';
            patterns += extension;
        }
    return patterns;
}

std::string document_extensions_phrase() {
    const std::vector<DocumentFormat>& formats = document_formats();
    std::string phrase;
    for (size_t k = 0; k < formats.size(); ++k) {
        if (k > 0) phrase += k + 1 == formats.size() ? " or " : ", ";
        phrase += formats[k].extensions.front();
    }
    return phrase;
}

}  // namespace selfextend
