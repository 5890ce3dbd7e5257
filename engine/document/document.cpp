// Reads documents as UTF-8 text: plain text and Markdown as they are, HTML reduced to its
// visible text. Binary files are refused; invalid UTF-8 is replaced and flagged.
#include "selfextend/document.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

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

// Position of needle (lower case) in text from `from` on, ignoring ASCII case; npos if absent.
size_t find_ignoring_case(const std::string& text, const std::string& needle, size_t from) {
    const auto equal = [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == b;
    };
    const auto it = std::search(text.begin() + std::ptrdiff_t(std::min(from, text.size())),
                                text.end(), needle.begin(), needle.end(), equal);
    return it == text.end() ? std::string::npos : size_t(it - text.begin());
}

bool has_extension(const std::string& path, std::initializer_list<const char*> extensions) {
    const std::string name = lower(path);
    for (const char* extension : extensions) {
        const std::string e = extension;
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

void append_entity(std::string& out, const std::string& entity) {
    static const std::pair<const char*, const char*> kNamed[] = {{"amp", "&"},
                                                                 {"lt", "<"},
                                                                 {"gt", ">"},
                                                                 {"quot", "\""},
                                                                 {"apos", "'"},
                                                                 {"nbsp", " "},
                                                                 {"mdash", "\xE2\x80\x94"},
                                                                 {"ndash", "\xE2\x80\x93"},
                                                                 {"hellip", "\xE2\x80\xA6"},
                                                                 {"lsquo", "\xE2\x80\x98"},
                                                                 {"rsquo", "\xE2\x80\x99"},
                                                                 {"ldquo", "\xE2\x80\x9C"},
                                                                 {"rdquo", "\xE2\x80\x9D"}};
    for (const auto& [name, text] : kNamed)
        if (entity == name) {
            out += text;
            return;
        }
    if (entity.size() > 1 && entity[0] == '#') {
        unsigned long code = 0;
        try {
            code = entity[1] == 'x' || entity[1] == 'X' ? std::stoul(entity.substr(2), nullptr, 16)
                                                        : std::stoul(entity.substr(1));
        } catch (...) {
            code = 0xFFFD;
        }
        if (code == 0 || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) code = 0xFFFD;
        if (code < 0x80) {
            out += char(code);
        } else if (code < 0x800) {
            out += char(0xC0 | (code >> 6));
            out += char(0x80 | (code & 0x3F));
        } else if (code < 0x10000) {
            out += char(0xE0 | (code >> 12));
            out += char(0x80 | ((code >> 6) & 0x3F));
            out += char(0x80 | (code & 0x3F));
        } else {
            out += char(0xF0 | (code >> 18));
            out += char(0x80 | ((code >> 12) & 0x3F));
            out += char(0x80 | ((code >> 6) & 0x3F));
            out += char(0x80 | (code & 0x3F));
        }
        return;
    }
    out += '&' + entity + ';';  // unknown: keep as written
}

}  // namespace

std::string html_to_text(const std::string& html) {
    static const char* const kBlockTags[] = {
        "p",  "br",         "div", "li",      "tr",      "h1", "h2",    "h3", "h4", "h5",
        "h6", "blockquote", "pre", "section", "article", "hr", "table", "ul", "ol", "title"};
    std::string out;
    size_t at = 0;
    while (at < html.size()) {
        const char c = html[at];
        // '<' opens markup only before a name, '/', '!' or '?'; otherwise it is text ("a < b").
        const bool opens_markup =
            c == '<' && at + 1 < html.size() &&
            (std::isalpha(static_cast<unsigned char>(html[at + 1])) || html[at + 1] == '/' ||
             html[at + 1] == '!' || html[at + 1] == '?');
        if (opens_markup) {
            const size_t close = html.find('>', at);
            if (close == std::string::npos) break;
            std::string tag = lower(html.substr(at + 1, close - at - 1));
            if (tag.rfind("!--", 0) == 0) {  // comment
                const size_t end = html.find("-->", at);
                at = end == std::string::npos ? html.size() : end + 3;
                continue;
            }
            const bool closing = !tag.empty() && tag[0] == '/';
            std::string name;
            for (size_t k = closing ? 1 : 0;
                 k < tag.size() && std::isalnum(static_cast<unsigned char>(tag[k])); ++k)
                name += tag[k];
            at = close + 1;
            if (!closing && (name == "script" || name == "style")) {  // skip their contents
                const size_t end = find_ignoring_case(html, "</" + name, at);
                at = end == std::string::npos ? html.size() : end;
                continue;
            }
            for (const char* block : kBlockTags)
                if (name == block) {
                    if (!out.empty() && out.back() != '\n') out += '\n';
                    break;
                }
            // Table cells end like words.
            if ((name == "td" || name == "th") && !out.empty() && out.back() != ' ' &&
                out.back() != '\n')
                out += ' ';
            continue;
        }
        if (c == '&') {
            const size_t semicolon = html.find(';', at);
            if (semicolon != std::string::npos && semicolon - at <= 10) {
                append_entity(out, html.substr(at + 1, semicolon - at - 1));
                at = semicolon + 1;
                continue;
            }
        }
        // Collapse runs of white space as a browser does.
        if (std::isspace(static_cast<unsigned char>(c))) {
            if (!out.empty() && out.back() != ' ' && out.back() != '\n') out += ' ';
            ++at;
            continue;
        }
        out += c;
        ++at;
    }
    // Trim trailing spaces on lines.
    std::string trimmed;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
        while (!line.empty() && line.back() == ' ') line.pop_back();
        size_t first = 0;
        while (first < line.size() && line[first] == ' ') ++first;
        trimmed += line.substr(first) + '\n';
    }
    while (!trimmed.empty() && trimmed.back() == '\n') trimmed.pop_back();
    return trimmed;
}

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
    if (bytes.compare(0, 5, "%PDF-") == 0)
        throw Error("'" + path +
                    "' is a PDF: open it in SelfExtend Studio (which reads PDF text), " +
                    "or convert it to text first (e.g. pdftotext)");
    if (looks_binary(bytes)) throw Error("'" + path + "' looks like a binary file, not text");

    Document document;
    document.path = path;
    document.had_invalid_utf8 = !is_valid_utf8(bytes);
    document.text = document.had_invalid_utf8 ? replace_invalid_utf8(bytes) : std::move(bytes);
    if (has_extension(path, {".html", ".htm", ".xhtml"})) {
        document.text = html_to_text(document.text);
        if (document.text.empty()) throw Error("'" + path + "' has no visible text");
    }
    // Line endings as the tokenizer expects them.
    document.text.erase(std::remove(document.text.begin(), document.text.end(), '\r'),
                        document.text.end());
    return document;
}

}  // namespace selfextend
