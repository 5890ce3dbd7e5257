#include "document_store.h"

#include <unistd.h>

#include <xxhash.h>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "chat_request.h"
#include "selfextend/document.h"
#include "selfextend/engine.h"
#include "selfextend/error.h"

namespace server {
namespace {

// The readers take a path: the upload is written to a private temporary file with the uploaded
// name's extension (which chooses the reader), removed again at once.
class TemporaryFile {
  public:
    TemporaryFile(const std::string& name, std::string_view bytes) {
        std::string extension = std::filesystem::path(name).extension().string();
        if (extension.size() > 16 || extension.find_first_of("/\\") != std::string::npos)
            extension.clear();
        std::string pattern =
            (std::filesystem::temp_directory_path() / "selfextend-upload-XXXXXX").string() +
            extension;
        const int fd = mkstemps(pattern.data(), int(extension.size()));
        if (fd < 0) throw ApiError(500, "server_error", "cannot write the upload to a file");
        close(fd);
        path_ = pattern;
        std::ofstream out(path_, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), std::streamsize(bytes.size()));
        if (!out) throw ApiError(500, "server_error", "cannot write the upload to a file");
    }
    ~TemporaryFile() { std::filesystem::remove(path_); }
    TemporaryFile(const TemporaryFile&) = delete;
    TemporaryFile& operator=(const TemporaryFile&) = delete;
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

std::string text_id(std::string_view text) {
    char id[24];
    std::snprintf(id, sizeof id, "doc-%016llx",
                  (unsigned long long)XXH3_64bits(text.data(), text.size()));
    return id;
}

}  // namespace

DocumentStore::DocumentStore(std::shared_ptr<const selfextend::Model> model, int64_t max_tokens,
                             size_t max_documents)
    : model_(std::move(model)), max_tokens_(max_tokens), max_documents_(max_documents) {}

std::shared_ptr<const StoredDocument> DocumentStore::add(const std::string& name,
                                                         std::string_view bytes) {
    selfextend::Document read;
    try {
        const TemporaryFile file(name.empty() ? "document.txt" : name, bytes);
        read = selfextend::load_text_document(file.path());
    } catch (const selfextend::Error& e) {
        throw ApiError(400, "invalid_request_error",
                       "the document cannot be read: " + std::string(e.what()), "file");
    }
    auto document = std::make_shared<StoredDocument>();
    document->id = text_id(read.text);
    document->name = name;
    document->encoding = read.encoding;
    document->bytes = int64_t(bytes.size());
    document->tokens = int64_t(model_->tokenize(read.text, false).size());
    document->text = std::move(read.text);
    if (document->tokens > max_tokens_)
        throw ApiError(413, "invalid_request_error",
                       "the document has " + std::to_string(document->tokens) +
                           " tokens, more than this server takes (" + std::to_string(max_tokens_) +
                           ": the model's largest Self-Extend capacity, or --max-document-tokens)",
                       "file", "document_too_long");
    const std::lock_guard lock(mutex_);
    documents_.remove_if([&](const auto& d) { return d->id == document->id; });
    documents_.push_front(document);
    while (documents_.size() > max_documents_) documents_.pop_back();
    return document;
}

std::shared_ptr<const StoredDocument> DocumentStore::find(const std::string& id) const {
    const std::lock_guard lock(mutex_);
    for (const auto& d : documents_)
        if (d->id == id) return d;
    return nullptr;
}

std::vector<std::shared_ptr<const StoredDocument>> DocumentStore::list() const {
    const std::lock_guard lock(mutex_);
    return {documents_.begin(), documents_.end()};
}

bool DocumentStore::remove(const std::string& id) {
    const std::lock_guard lock(mutex_);
    const size_t before = documents_.size();
    documents_.remove_if([&](const auto& d) { return d->id == id; });
    return documents_.size() != before;
}

}  // namespace server
