// Small PDF files written byte by byte for the document tests: one page per string, each line
// of it drawn in Helvetica (one of the 14 fonts every reader has, so nothing is embedded), with
// a correct cross-reference table. An empty string is a page with a drawing and no text.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace testing {

struct PdfOptions {
    // Extra trailer entries and objects, e.g. an /Encrypt dictionary.
    std::string trailer_extra;
    std::vector<std::string> extra_objects;  // numbered after the pages' objects
};

inline std::string pdf_bytes(const std::vector<std::string>& pages,
                             const PdfOptions& options = {}) {
    // Objects: 1 catalog, 2 page tree, 3 font, then a page and its content stream per page.
    std::vector<std::string> objects;
    std::string kids;
    for (size_t k = 0; k < pages.size(); ++k) kids += std::to_string(4 + 2 * k) + " 0 R ";
    objects.push_back("<< /Type /Catalog /Pages 2 0 R >>");
    objects.push_back("<< /Type /Pages /Kids [" + kids + "] /Count " +
                      std::to_string(pages.size()) + " >>");
    objects.push_back(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>");
    for (size_t k = 0; k < pages.size(); ++k) {
        std::string content;
        if (pages[k].empty()) {
            content = "0.2 0.4 0.8 rg 72 600 200 100 re f";  // a filled rectangle only
        } else {
            content = "BT /F1 12 Tf 14 TL 72 720 Td";
            size_t start = 0;
            while (start <= pages[k].size()) {
                size_t end = pages[k].find('\n', start);
                if (end == std::string::npos) end = pages[k].size();
                std::string line;
                for (const char c : pages[k].substr(start, end - start)) {
                    if (c == '(' || c == ')' || c == '\\') line += '\\';
                    line += c;
                }
                content += " (" + line + ") Tj T*";
                start = end + 1;
            }
            content += " ET";
        }
        objects.push_back(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            "/Resources << /Font << /F1 3 0 R >> >> /Contents " +
            std::to_string(5 + 2 * k) + " 0 R >>");
        objects.push_back("<< /Length " + std::to_string(content.size()) + " >>\nstream\n" +
                          content + "\nendstream");
    }
    for (const std::string& extra : options.extra_objects) objects.push_back(extra);

    std::string pdf = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";  // binary marker comment
    std::vector<size_t> offsets;
    for (size_t k = 0; k < objects.size(); ++k) {
        offsets.push_back(pdf.size());
        pdf += std::to_string(k + 1) + " 0 obj\n" + objects[k] + "\nendobj\n";
    }
    const size_t xref = pdf.size();
    pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
    for (const size_t offset : offsets) {
        char entry[32];
        std::snprintf(entry, sizeof entry, "%010zu 00000 n \n", offset);  // 20 bytes each
        pdf += entry;
    }
    pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) + " /Root 1 0 R " +
           options.trailer_extra + " >>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
    return pdf;
}

}  // namespace testing
