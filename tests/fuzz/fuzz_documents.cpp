// Arbitrary bytes as a document file: the first byte picks the format (text, HTML, EPUB, PDF),
// the rest is written to a file of that kind and loaded the way the CLI and GUI load documents.
// A clear Error is the expected outcome for most inputs; a crash, a sanitizer report or a hang
// is a bug.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "selfextend/document.h"
#include "selfextend/error.h"

using namespace selfextend;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    static constexpr const char* kExtensions[] = {".txt", ".html", ".epub", ".pdf"};
    const char* extension = kExtensions[data[0] % 4];
    const std::string path = "/tmp/se-fuzz-document-" + std::to_string(getpid()) + extension;
    if (std::FILE* file = std::fopen(path.c_str(), "wb")) {
        std::fwrite(data + 1, 1, size - 1, file);
        std::fclose(file);
    } else {
        return 0;
    }
    try {
        const Document document = load_text_document(path);
        (void)document.text.size();
    } catch (const Error&) {
    }
    if (data[0] % 4 == 1)  // the HTML reader on its own too (no file, no charset sniffing)
        (void)html_to_text(std::string(reinterpret_cast<const char*>(data + 1), size - 1));
    std::remove(path.c_str());
    return 0;
}
