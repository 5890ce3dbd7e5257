// PDF: the text layer, page by page, through poppler-cpp (what pdftotext uses), so the CLI reads
// PDFs as the studio does. Text is taken in reading order, not in the drawing order of the
// page's content stream nor with the spaces of a physical layout.
#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-page.h>

#include <memory>
#include <mutex>

#include "document/formats.h"
#include "selfextend/error.h"
#include "selfextend/tokenizer.h"

namespace selfextend::formats {

namespace {

// poppler prints its complaints about damaged files to stderr (into the CLI's output); the
// errors that matter come back as Error instead.
void silence_poppler() {
    static std::once_flag once;
    std::call_once(
        once, [] { poppler::set_debug_error_function([](const std::string&, void*) {}, nullptr); });
}

// Lines without trailing spaces; form feeds (page ends) and carriage returns removed.
std::string tidy(const std::string& text) {
    std::string out;
    for (const char c : text) {
        if (c == '\r' || c == '\f') continue;
        if (c == '\n')
            while (!out.empty() && out.back() == ' ') out.pop_back();
        out += c;
    }
    const size_t first = out.find_first_not_of(" \n");
    if (first == std::string::npos) return {};
    out.erase(0, first);
    while (!out.empty() && (out.back() == ' ' || out.back() == '\n')) out.pop_back();
    return out;
}

}  // namespace

std::string pdf_to_text(const std::string& bytes, const std::string& path) {
    silence_poppler();
    // load_from_raw_data reads the bytes in place: they outlive the document.
    const std::unique_ptr<poppler::document> document(
        poppler::document::load_from_raw_data(bytes.data(), int(bytes.size())));
    if (!document) throw Error("'" + path + "' is a damaged PDF: it cannot be read");
    if (document->is_locked())
        throw Error("'" + path + "' is an encrypted PDF that needs a password to open");
    const int pages = document->pages();
    if (pages <= 0) throw Error("'" + path + "' is a damaged PDF: it has no pages");
    std::string text;
    for (int k = 0; k < pages; ++k) {
        const std::unique_ptr<poppler::page> page(document->create_page(k));
        if (!page) continue;
        const poppler::byte_array utf8 =
            page->text(poppler::rectf(), poppler::page::non_raw_non_physical_layout).to_utf8();
        const std::string page_text = tidy(std::string(utf8.begin(), utf8.end()));
        if (page_text.empty()) continue;
        if (!text.empty()) text += "\n\n";
        text += page_text;
    }
    if (text.empty())
        throw Error("'" + path + "': this PDF has no text layer (scanned?); " +
                    "run it through OCR (e.g. ocrmypdf) first");
    // Lone surrogates in a broken ToUnicode map do not survive the conversion as UTF-8.
    return is_valid_utf8(text) ? text : replace_invalid_utf8(text);
}

}  // namespace selfextend::formats
