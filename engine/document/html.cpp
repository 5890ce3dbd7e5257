// HTML to visible text with libxml2's HTML parser, which knows every named entity, honours
// <meta charset>, recovers from broken markup the way browsers do and reads quoted attributes
// (a '>' inside one does not end the tag). The tree it builds is walked here: text nodes are
// kept, script and style dropped, block elements become line breaks.
#include <libxml/HTMLparser.h>
#include <strings.h>

#include <cctype>
#include <sstream>

#include "document/formats.h"
#include "document/xml.h"
#include "selfextend/document.h"
#include "selfextend/error.h"
#include "selfextend/tokenizer.h"

namespace selfextend {

using formats::init_libxml2;
using formats::XmlDoc;

namespace {

// Browsers read a numeric reference that names no character (&#0;, a surrogate, past U+10FFFF,
// no digits) as U+FFFD; libxml2 drops it silently. Rewritten first so the text shows where
// something was.
std::string replace_bad_numeric_references(const std::string& html) {
    std::string out;
    size_t copied = 0;
    for (size_t at = html.find("&#"); at != std::string::npos; at = html.find("&#", at + 2)) {
        const size_t semicolon = html.find(';', at);
        if (semicolon == std::string::npos || semicolon - at > 12) continue;
        const bool hex = at + 2 < semicolon && (html[at + 2] == 'x' || html[at + 2] == 'X');
        const std::string digits = html.substr(at + (hex ? 3 : 2), semicolon - at - (hex ? 3 : 2));
        bool valid = !digits.empty();
        unsigned long code = 0;
        for (const char c : digits) {
            const auto u = static_cast<unsigned char>(c);
            if (hex ? !std::isxdigit(u) : !std::isdigit(u)) {
                valid = false;
                break;
            }
            code = code * (hex ? 16 : 10) + (std::isdigit(u) ? u - '0' : (u | 0x20) - 'a' + 10);
            if (code > 0x10FFFF) break;
        }
        // The characters XML allows (what libxml2 keeps).
        valid = valid &&
                (code == 0x9 || code == 0xA || code == 0xD || (code >= 0x20 && code <= 0xD7FF) ||
                 (code >= 0xE000 && code <= 0xFFFD) || (code >= 0x10000 && code <= 0x10FFFF));
        if (valid) continue;
        out.append(html, copied, at - copied);
        out += "&#xFFFD;";
        copied = semicolon + 1;
    }
    if (copied == 0) return html;
    out.append(html, copied, std::string::npos);
    return out;
}

XmlDoc parse_html(const std::string& html, const char* encoding) {
    init_libxml2();
    // Errors are not printed (a page full of sloppy markup is normal) and never fetch anything.
    const int options =
        HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET;
    return XmlDoc(htmlReadMemory(html.data(), int(html.size()), nullptr, encoding, options));
}

bool is_utf8_name(const xmlChar* encoding) {
    const auto* name = reinterpret_cast<const char*>(encoding);
    return strcasecmp(name, "utf-8") == 0 || strcasecmp(name, "utf8") == 0;
}

bool element_is(const xmlNode* node, std::initializer_list<const char*> names) {
    if (node->type != XML_ELEMENT_NODE || !node->name) return false;
    for (const char* name : names)
        if (strcasecmp(reinterpret_cast<const char*>(node->name), name) == 0) return true;
    return false;
}

// The text of the tree as a browser lays it out, roughly: white space collapsed, a line break
// around each block element, a space between table cells.
class TextBuilder {
  public:
    void text(const char* utf8) {
        for (const char* p = utf8; *p; ++p) {
            if (std::isspace(static_cast<unsigned char>(*p))) {
                if (!out_.empty() && out_.back() != ' ' && out_.back() != '\n') out_ += ' ';
            } else if (p[0] == '\xC2' && p[1] == '\xA0') {  // no-break space: a plain space
                out_ += ' ';
                ++p;
            } else {
                out_ += *p;
            }
        }
    }
    void line_break() {
        if (!out_.empty() && out_.back() != '\n') out_ += '\n';
    }
    void word_break() {
        if (!out_.empty() && out_.back() != ' ' && out_.back() != '\n') out_ += ' ';
    }
    // Lines without leading or trailing spaces, no trailing line breaks.
    std::string finish() const {
        std::string trimmed;
        std::istringstream lines(out_);
        for (std::string line; std::getline(lines, line);) {
            while (!line.empty() && line.back() == ' ') line.pop_back();
            size_t first = 0;
            while (first < line.size() && line[first] == ' ') ++first;
            trimmed += line.substr(first) + '\n';
        }
        while (!trimmed.empty() && trimmed.back() == '\n') trimmed.pop_back();
        return trimmed;
    }

  private:
    std::string out_;
};

void boundary(TextBuilder& text, const xmlNode* node) {
    if (element_is(node,
                   {"p",       "br",         "div",    "li",     "tr",         "h1",    "h2",
                    "h3",      "h4",         "h5",     "h6",     "blockquote", "pre",   "section",
                    "article", "hr",         "table",  "ul",     "ol",         "title", "dd",
                    "dt",      "figcaption", "header", "footer", "nav",        "aside", "body"}))
        text.line_break();
    else if (element_is(node, {"td", "th"}))  // cells are separate words on the page
        text.word_break();
}

// Iterative, so that deeply nested markup cannot exhaust the stack. Without with_head the
// <head> (the <title>) is left out.
std::string tree_to_text(xmlDoc* doc, bool with_head) {
    TextBuilder text;
    xmlNode* const top = reinterpret_cast<xmlNode*>(doc);
    xmlNode* node = doc->children;
    while (node) {
        bool enter = false;
        if (node->type == XML_TEXT_NODE || node->type == XML_CDATA_SECTION_NODE) {
            if (node->content) text.text(reinterpret_cast<const char*>(node->content));
        } else if (node->type == XML_ELEMENT_NODE &&
                   !element_is(node, {"script", "style", "template"}) &&
                   (with_head || !element_is(node, {"head"}))) {
            boundary(text, node);
            enter = node->children != nullptr;
        }
        if (enter) {
            node = node->children;
            continue;
        }
        // Leave this node and every ancestor it is the last child of.
        while (node && node != top) {
            if (node->type == XML_ELEMENT_NODE) boundary(text, node);
            if (node->next) {
                node = node->next;
                break;
            }
            node = node->parent;
        }
        if (node == top) break;
    }
    return text.finish();
}

}  // namespace

namespace formats {

std::string html_bytes_to_text(const std::string& bytes, bool& had_invalid_utf8, bool with_head) {
    had_invalid_utf8 = false;
    const std::string html = replace_bad_numeric_references(bytes);
    XmlDoc doc = parse_html(html, nullptr);
    // UTF-8, declared or by default: libxml2 would switch to Latin-1 at the first invalid byte
    // (turning the rest into mojibake); the engine's rule instead replaces only the bad bytes.
    // Pages that declare another encoding are decoded by libxml2 as declared.
    if ((!doc || !doc->encoding || is_utf8_name(doc->encoding)) && !is_valid_utf8(html)) {
        had_invalid_utf8 = true;
        doc = parse_html(replace_invalid_utf8(html), "UTF-8");
    }
    if (!doc) return {};  // nothing parsable: no visible text
    std::string text = tree_to_text(doc.get(), with_head);
    if (!is_valid_utf8(text)) {  // a declared encoding that did not fit the bytes
        had_invalid_utf8 = true;
        text = replace_invalid_utf8(text);
    }
    return text;
}

}  // namespace formats

std::string html_to_text(const std::string& html) {
    bool had_invalid_utf8 = false;
    return formats::html_bytes_to_text(html, had_invalid_utf8);
}

}  // namespace selfextend
