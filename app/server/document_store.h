// Documents uploaded once (POST /v1/documents) and referred to by id in chat requests, read by
// the same readers as the studio and the CLI (text, Markdown, HTML, EPUB, PDF). Kept in memory,
// the oldest dropped past a count; their KV is kept by the generation service and the disk cache.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace selfextend {
class Model;
}

namespace server {

struct StoredDocument {
    std::string id;        // "doc-" and 16 hex digits of the text's hash
    std::string name;      // as uploaded (its extension chose the reader)
    std::string text;      // UTF-8
    std::string encoding;  // the encoding plain text was converted from; empty for UTF-8
    int64_t bytes = 0;     // uploaded
    int64_t tokens = 0;    // of the text alone, in the model's tokenizer
};

class DocumentStore {
  public:
    DocumentStore(std::shared_ptr<const selfextend::Model> model, int64_t max_tokens,
                  size_t max_documents = 32);

    // Reads the upload as the format its name says and keeps it. Throws ApiError (400) when it
    // cannot be read or is longer than max_tokens (413), saying why.
    std::shared_ptr<const StoredDocument> add(const std::string& name, std::string_view bytes);
    std::shared_ptr<const StoredDocument> find(const std::string& id) const;  // null: none
    std::vector<std::shared_ptr<const StoredDocument>> list() const;
    bool remove(const std::string& id);

  private:
    std::shared_ptr<const selfextend::Model> model_;
    int64_t max_tokens_;
    size_t max_documents_;
    mutable std::mutex mutex_;
    std::list<std::shared_ptr<const StoredDocument>> documents_;  // newest first
};

}  // namespace server
