// EPUB: a zip (libzip) holding XHTML chapters. META-INF/container.xml names the package (OPF)
// file; its manifest maps ids to files and its spine lists the ids in reading order, which is
// the order the text comes out in (not the manifest's or the zip's). Each chapter goes through
// the HTML reader.
#include <zip.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "document/formats.h"
#include "document/xml.h"
#include "selfextend/error.h"

namespace selfextend::formats {

namespace {

// Zip bombs: a small file may inflate to anything. Past this much text the document is far
// beyond any model's window anyway.
constexpr uint64_t kMaxUnpackedBytes = uint64_t(512) << 20;

struct DiscardZip {
    void operator()(zip_t* zip) const { zip_discard(zip); }  // read only: nothing to write
};
struct CloseZipFile {
    void operator()(zip_file_t* file) const { zip_fclose(file); }
};
struct FreeZipSource {
    void operator()(zip_source_t* source) const { zip_source_free(source); }
};
struct FinishZipError {
    void operator()(zip_error_t* error) const { zip_error_fini(error); }
};

class ZipArchive {
  public:
    // bytes must outlive the archive: libzip reads them in place.
    ZipArchive(const std::string& bytes, const std::string& path) : path_(path) {
        zip_error_t error;
        zip_error_init(&error);
        const std::unique_ptr<zip_error_t, FinishZipError> finish(&error);
        std::unique_ptr<zip_source_t, FreeZipSource> source(
            zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error));
        if (source) {
            zip_.reset(zip_open_from_source(source.get(), ZIP_RDONLY, &error));
            if (zip_) source.release();  // the archive owns it now
        }
        if (!zip_)
            throw Error("'" + path + "' is not a valid EPUB: it is not a readable zip archive (" +
                        zip_error_strerror(&error) + ")");
    }

    // The entry's index; names are matched exactly first, then ignoring case (archives made on
    // case-insensitive file systems do not always agree with their own manifests).
    std::optional<zip_uint64_t> find(const std::string& name) const {
        zip_int64_t index = zip_name_locate(zip_.get(), name.c_str(), 0);
        if (index < 0) index = zip_name_locate(zip_.get(), name.c_str(), ZIP_FL_NOCASE);
        if (index < 0) return std::nullopt;
        return zip_uint64_t(index);
    }

    // The whole entry, nullopt when the archive has none of that name.
    std::optional<std::string> read(const std::string& name) {
        const auto index = find(name);
        if (!index) return std::nullopt;
        zip_stat_t stat;
        zip_stat_init(&stat);
        if (zip_stat_index(zip_.get(), *index, 0, &stat) != 0 || !(stat.valid & ZIP_STAT_SIZE))
            throw broken(name);
        if (stat.size > kMaxUnpackedBytes - unpacked_)
            throw Error("'" + path_ + "' unpacks to more than 512 MiB");
        const std::unique_ptr<zip_file_t, CloseZipFile> file(
            zip_fopen_index(zip_.get(), *index, 0));
        if (!file) {
            const int code = zip_error_code_zip(zip_get_error(zip_.get()));
            if (code == ZIP_ER_NOPASSWD || code == ZIP_ER_WRONGPASSWD || code == ZIP_ER_ENCRNOTSUPP)
                throw Error("'" + path_ + "': this EPUB is encrypted (DRM)");
            throw broken(name);
        }
        std::string data(size_t(stat.size), '\0');
        size_t done = 0;
        while (done < data.size()) {
            const zip_int64_t got = zip_fread(file.get(), data.data() + done, data.size() - done);
            if (got <= 0) throw broken(name);  // truncated, or a CRC mismatch
            done += size_t(got);
        }
        // Reading on to the end is what makes libzip check the CRC.
        char extra = 0;
        if (zip_fread(file.get(), &extra, 1) != 0) throw broken(name);
        unpacked_ += data.size();
        return data;
    }

  private:
    Error broken(const std::string& name) const {
        return Error("'" + path_ + "' is not a valid EPUB: '" + name +
                     "' cannot be unpacked (the zip archive is damaged)");
    }

    std::string path_;
    std::unique_ptr<zip_t, DiscardZip> zip_;
    uint64_t unpacked_ = 0;
};

XmlDoc parse_xml(const std::string& text) {
    init_libxml2();
    // Never fetch or expand external entities; damaged files are read as far as they go.
    const int options = XML_PARSE_RECOVER | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                        XML_PARSE_NONET | XML_PARSE_NOCDATA;
    return XmlDoc(xmlReadMemory(text.data(), int(text.size()), nullptr, nullptr, options));
}

bool named(const xmlNode* node, const char* local_name) {
    return node && node->type == XML_ELEMENT_NODE && node->name &&
           xmlStrcmp(node->name, reinterpret_cast<const xmlChar*>(local_name)) == 0;
}

// Every element of that local name (whatever its namespace prefix), in document order.
std::vector<const xmlNode*> elements(const xmlDoc* doc, const char* local_name) {
    std::vector<const xmlNode*> found;
    if (!doc) return found;
    const auto* const top = reinterpret_cast<const xmlNode*>(doc);
    const xmlNode* node = doc->children;
    while (node) {  // iterative: deep nesting cannot exhaust the stack
        if (named(node, local_name)) found.push_back(node);
        if (node->type == XML_ELEMENT_NODE && node->children) {
            node = node->children;
            continue;
        }
        while (node && node != top && !node->next) node = node->parent;
        node = node && node != top ? node->next : nullptr;
    }
    return found;
}

// Hrefs in the package are URLs relative to the package file: percent-escaped, maybe with a
// fragment, maybe with "..".
std::string resolve_href(const std::string& base_dir, const std::string& href) {
    std::string decoded;
    for (size_t k = 0; k < href.size() && href[k] != '#'; ++k) {
        const auto hex = [](char c) {
            return c >= '0' && c <= '9'   ? c - '0'
                   : c >= 'a' && c <= 'f' ? c - 'a' + 10
                   : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                          : -1;
        };
        if (href[k] == '%' && k + 2 < href.size() && hex(href[k + 1]) >= 0 &&
            hex(href[k + 2]) >= 0) {
            decoded += char(hex(href[k + 1]) * 16 + hex(href[k + 2]));
            k += 2;
        } else {
            decoded += href[k];
        }
    }
    const std::string joined =
        !decoded.empty() && decoded[0] == '/' ? decoded.substr(1) : base_dir + decoded;
    std::vector<std::string> parts;
    size_t start = 0;
    while (start <= joined.size()) {
        size_t end = joined.find('/', start);
        if (end == std::string::npos) end = joined.size();
        const std::string part = joined.substr(start, end - start);
        if (part == "..") {
            if (!parts.empty()) parts.pop_back();
        } else if (!part.empty() && part != ".") {
            parts.push_back(part);
        }
        start = end + 1;
    }
    std::string path;
    for (const std::string& part : parts) path += (path.empty() ? "" : "/") + part;
    return path;
}

// Font obfuscation (IDPF, Adobe) scrambles only embedded fonts, in books without DRM; any other
// algorithm in META-INF/encryption.xml encrypts content, which needs the seller's key.
bool has_drm(const std::string& encryption_xml) {
    const XmlDoc doc = parse_xml(encryption_xml);
    if (!doc) return true;  // unreadable: assume the worst rather than print ciphertext
    for (const xmlNode* method : elements(doc.get(), "EncryptionMethod")) {
        const std::string algorithm = attribute(method, "Algorithm");
        if (algorithm != "http://www.idpf.org/2008/embedding" &&
            algorithm != "http://ns.adobe.com/pdf/enc#RC")
            return true;
    }
    return false;
}

}  // namespace

std::string epub_to_text(const std::string& bytes, const std::string& path,
                         bool& had_invalid_utf8) {
    had_invalid_utf8 = false;
    ZipArchive zip(bytes, path);
    const auto not_valid = [&](const std::string& why) {
        return Error("'" + path + "' is not a valid EPUB: " + why);
    };

    if (const auto encryption = zip.read("META-INF/encryption.xml");
        encryption && has_drm(*encryption))
        throw Error("'" + path + "': this EPUB is encrypted (DRM)");

    const auto container = zip.read("META-INF/container.xml");
    if (!container) throw not_valid("it has no META-INF/container.xml");
    const XmlDoc container_doc = parse_xml(*container);
    std::string package_path;
    for (const xmlNode* rootfile : elements(container_doc.get(), "rootfile")) {
        const std::string type = attribute(rootfile, "media-type");
        if (type.empty() || type == "application/oebps-package+xml") {
            package_path = attribute(rootfile, "full-path");
            if (!package_path.empty()) break;
        }
    }
    if (package_path.empty())
        throw not_valid("META-INF/container.xml names no package (.opf) file");
    const auto package = zip.read(package_path);
    if (!package)
        throw not_valid("its package file '" + package_path +
                        "' (named in META-INF/container.xml) is missing");
    const XmlDoc package_doc = parse_xml(*package);
    if (!package_doc) throw not_valid("its package file '" + package_path + "' is not XML");

    const std::string base_dir = package_path.substr(0, package_path.rfind('/') + 1);
    struct Item {
        std::string path, media_type;
    };
    std::unordered_map<std::string, Item> manifest;
    for (const xmlNode* item : elements(package_doc.get(), "item"))
        if (named(item->parent, "manifest"))
            manifest[attribute(item, "id")] = {resolve_href(base_dir, attribute(item, "href")),
                                               attribute(item, "media-type")};

    std::vector<const Item*> chapters;
    for (const xmlNode* itemref : elements(package_doc.get(), "itemref")) {
        if (!named(itemref->parent, "spine")) continue;
        const auto found = manifest.find(attribute(itemref, "idref"));
        if (found == manifest.end()) continue;  // a dangling reference: nothing to read
        const std::string& type = found->second.media_type;
        // Only (X)HTML holds the text; images or SVG pages in the spine have none to give.
        if (type == "application/xhtml+xml" || type == "text/html")
            chapters.push_back(&found->second);
    }
    if (chapters.empty()) throw not_valid("its spine lists no chapters");

    std::string text;
    for (const Item* chapter : chapters) {
        const auto content = zip.read(chapter->path);
        if (!content)
            throw not_valid("the chapter '" + chapter->path + "' listed in its spine is missing");
        bool invalid = false;
        // The <title> of each chapter file is metadata (often the book's title again), not text.
        const std::string chapter_text = html_bytes_to_text(*content, invalid, false);
        had_invalid_utf8 = had_invalid_utf8 || invalid;
        if (chapter_text.empty()) continue;
        if (!text.empty()) text += "\n\n";
        text += chapter_text;
    }
    return text;
}

}  // namespace selfextend::formats
