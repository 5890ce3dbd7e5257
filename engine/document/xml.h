// libxml2 handles and set-up shared by the HTML and EPUB readers.
#pragma once

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <memory>
#include <mutex>
#include <string>

namespace selfextend::formats {

struct FreeXmlDoc {
    void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
using XmlDoc = std::unique_ptr<xmlDoc, FreeXmlDoc>;

// libxml2 sets up its global tables once; done before first use so that documents may be read
// from several threads.
inline void init_libxml2() {
    static std::once_flag once;
    std::call_once(once, [] { xmlInitParser(); });
}

// An attribute's value, empty when absent (xmlGetProp's copy is freed here).
inline std::string attribute(const xmlNode* node, const char* name) {
    struct FreeXmlChar {
        void operator()(xmlChar* text) const { xmlFree(text); }
    };
    const std::unique_ptr<xmlChar, FreeXmlChar> value(
        xmlGetProp(node, reinterpret_cast<const xmlChar*>(name)));
    return value ? std::string(reinterpret_cast<const char*>(value.get())) : std::string();
}

}  // namespace selfextend::formats
