// A folder of saved KV caches, so that a document read yesterday answers today without a prefill.
//
// An entry holds the KV of a prompt prefix (the chat template's opening and the document, up to
// where the question starts) for one model file, attention mode (G, W) and KV type. Its name is a
// hash of exactly those: the model file's bytes, G, W, the KV type and the prefix's token ids
// (which fix the document's bytes and the template). Files are written atomically (a temporary
// file renamed into place), checked whole on load (header, sizes, key, checksum): a corrupt or
// foreign file is ignored with a warning and removed, never trusted. The folder is size-capped;
// the least recently used entries go first.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace selfextend {

class Session;

class KvDiskCache {
  public:
    static constexpr uint64_t kDefaultMaxBytes = uint64_t(4) << 30;

    // $SE_CACHE_DIR, else $XDG_CACHE_HOME/selfextend-studio/kv, else ~/.cache/selfextend-studio/kv.
    static std::string default_folder();

    explicit KvDiskCache(std::string folder = default_folder(),
                         uint64_t max_bytes = kDefaultMaxBytes);

    const std::string& folder() const { return folder_; }

    // Fills the empty `session` with the saved cache of `prefix`: true when an entry for this
    // model, mode, KV type and prefix exists and is intact. `warning` (when given) receives why a
    // file that was found was not used.
    bool load(Session& session, std::span<const int32_t> prefix,
              std::string* warning = nullptr) const;

    // Saves the cache of the session's first prefix.size() tokens, which must be `prefix`.
    // Returns false (with a reason in `warning`) when the backend cannot export its cache or the
    // file cannot be written; the session is never changed.
    bool save(const Session& session, std::span<const int32_t> prefix,
              std::string* warning = nullptr) const;

    // Total bytes of the entries in the folder.
    uint64_t total_bytes() const;

  private:
    std::string entry_path(const Session& session, std::span<const int32_t> prefix) const;
    void evict_beyond_cap() const;

    std::string folder_;
    uint64_t max_bytes_;
};

}  // namespace selfextend
