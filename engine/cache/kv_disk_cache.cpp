// The on-disk format of one entry, all little-endian:
//   "SEKVC002"                                magic and format version
//   u64 key[2]                                the entry's key (see entry_key)
//   u32 kv_type, layers, kv_heads, head_dim   what the blocks hold
//   i64 tokens                                n, the prefix length
//   u32 block_count, u64 block_bytes          BackendSession::kv_blocks() blocks of n rows each
//   i32 ids[n]                                the prefix's token ids
//   blocks                                    as BackendSession::export_kv hands them out
//   u64 checksum[2]                           XXH3-128 of every byte before it
#include "selfextend/kv_disk_cache.h"

#include <xxhash.h>

#include <unistd.h>
#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <system_error>
#include <vector>

#include "engine_internals.h"
#include "model/model_impl.h"
#include "selfextend/error.h"
#include "session_impl.h"

namespace selfextend {

namespace fs = std::filesystem;

namespace {

// Version 2: Self-Extend sessions keep grouped keys too (kv_cache.h). The version is part of the
// key, so that the files of an older version are never opened: they age out of the cache.
constexpr char kMagic[8] = {'S', 'E', 'K', 'V', 'C', '0', '0', '2'};
constexpr char kExtension[] = ".sekv";

struct Header {
    char magic[8];
    uint64_t key[2];
    uint32_t kv_type, layers, kv_heads, head_dim;
    int64_t tokens;
    uint32_t block_count;
    uint32_t padding;  // keeps block_bytes aligned; always 0
    uint64_t block_bytes;
};
static_assert(sizeof(Header) == 64, "the header is written as it is laid out");

struct StateDeleter {
    void operator()(XXH3_state_t* state) const { XXH3_freeState(state); }
};

// XXH3-128 fed piece by piece.
class Hasher {
  public:
    Hasher() : state_(XXH3_createState()) {
        if (!state_) throw OutOfMemory("out of memory for a hash state");
        XXH3_128bits_reset(state_.get());
    }
    void add(const void* data, size_t bytes) { XXH3_128bits_update(state_.get(), data, bytes); }
    template <typename T>
    void add_value(const T& value) {
        add(&value, sizeof value);
    }
    std::array<uint64_t, 2> digest() const {
        const XXH128_hash_t h = XXH3_128bits_digest(state_.get());
        return {h.low64, h.high64};
    }

  private:
    std::unique_ptr<XXH3_state_t, StateDeleter> state_;
};

// The key: everything the cached KV depends on. The token ids stand for the document's bytes and
// the template; K and V of a token depend on G and W from the second layer on.
std::array<uint64_t, 2> entry_key(const detail::Internals::SessionImpl& s,
                                  std::span<const int32_t> prefix) {
    const HyperParams& hp = detail::Internals::of(*s.model).hp;
    Hasher h;
    const auto& model = detail::Internals::of(*s.model).file_hash();
    h.add(model.data(), sizeof(uint64_t) * model.size());
    h.add(kMagic, sizeof kMagic);
    h.add_value(int32_t(s.options.attention.group));
    h.add_value(int32_t(s.options.attention.window));
    h.add_value(uint32_t(s.backend->kv_type()));
    h.add_value(int32_t(hp.layer_count));
    h.add_value(int32_t(hp.head_count_kv));
    h.add_value(int32_t(hp.head_dim));
    h.add(prefix.data(), prefix.size_bytes());
    return h.digest();
}

std::string hex(const std::array<uint64_t, 2>& key) {
    char text[33];
    std::snprintf(text, sizeof text, "%016llx%016llx", (unsigned long long)key[1],
                  (unsigned long long)key[0]);
    return text;
}

void set_warning(std::string* warning, const std::string& text) {
    if (warning) *warning = text;
}

}  // namespace

std::string KvDiskCache::default_folder() {
    if (const char* dir = std::getenv("SE_CACHE_DIR"); dir && *dir) return dir;
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
        return std::string(xdg) + "/selfextend-studio/kv";
    if (const char* home = std::getenv("HOME"); home && *home)
        return std::string(home) + "/.cache/selfextend-studio/kv";
    return (fs::temp_directory_path() / "selfextend-studio-kv").string();
}

KvDiskCache::KvDiskCache(std::string folder, uint64_t max_bytes)
    : folder_(std::move(folder)), max_bytes_(max_bytes) {}

std::string KvDiskCache::entry_path(const Session& session, std::span<const int32_t> prefix) const {
    return folder_ + "/" + hex(entry_key(detail::Internals::of(session), prefix)) + kExtension;
}

bool KvDiskCache::load(Session& session, std::span<const int32_t> prefix,
                       std::string* warning) const {
    detail::Internals::SessionImpl& s = detail::Internals::of(session);
    if (prefix.empty() || !s.backend->can_transfer_kv() || s.backend->length() != 0) return false;
    const std::string path = entry_path(session, prefix);
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    const auto reject = [&](const std::string& why) {
        s.backend->truncate(0);
        s.history.clear();
        s.last_logits.clear();
        in.close();
        std::error_code ignored;
        fs::remove(path, ignored);
        set_warning(warning, "ignored the cache file " + path + ": " + why);
        return false;
    };

    Header header{};
    Hasher checksum;
    if (!in.read(reinterpret_cast<char*>(&header), sizeof header))
        return reject("truncated header");
    checksum.add(&header, sizeof header);
    const HyperParams& hp = detail::Internals::of(*s.model).hp;
    const auto blocks = uint64_t(s.backend->kv_blocks());
    const auto key = entry_key(s, prefix);
    if (std::memcmp(header.magic, kMagic, sizeof kMagic) != 0) return reject("not a cache file");
    if (header.key[0] != key[0] || header.key[1] != key[1] ||
        header.kv_type != uint32_t(s.backend->kv_type()) ||
        header.layers != uint32_t(hp.layer_count) ||
        header.kv_heads != uint32_t(hp.head_count_kv) || header.head_dim != uint32_t(hp.head_dim) ||
        header.tokens != int64_t(prefix.size()) || header.block_count != blocks ||
        header.padding != 0)
        return reject("it was written for another model, mode or document");
    const uint64_t expected_size =
        sizeof header + prefix.size_bytes() + blocks * header.block_bytes + 2 * sizeof(uint64_t);
    std::error_code size_error;
    if (header.block_bytes > (uint64_t(1) << 40) ||
        fs::file_size(path, size_error) != expected_size || size_error)
        return reject("its size does not match its header");
    if (header.tokens > s.backend->capacity() && !s.backend->reserve(header.tokens))
        return false;  // a valid file this session cannot hold: leave it for a larger one

    std::vector<int32_t> ids(prefix.size());
    in.read(reinterpret_cast<char*>(ids.data()), std::streamsize(prefix.size_bytes()));
    checksum.add(ids.data(), prefix.size_bytes());
    if (!in || !std::equal(ids.begin(), ids.end(), prefix.begin()))
        return reject("its tokens are not the document's");

    bool intact = true;
    s.backend->import_kv(header.tokens, [&](void* block, size_t bytes) {
        if (!intact || bytes != header.block_bytes ||
            !in.read(static_cast<char*>(block), std::streamsize(bytes))) {
            intact = false;
            return;
        }
        checksum.add(block, bytes);
    });
    uint64_t stored[2] = {};
    in.read(reinterpret_cast<char*>(stored), sizeof stored);
    const auto digest = checksum.digest();
    if (!intact || !in || stored[0] != digest[0] || stored[1] != digest[1])
        return reject("its checksum does not match (a damaged file)");
    s.history.assign(prefix.begin(), prefix.end());
    s.last_logits.clear();  // the next prefill computes them
    std::error_code ignored;
    fs::last_write_time(path, fs::file_time_type::clock::now(), ignored);  // recently used
    return true;
}

bool KvDiskCache::save(const Session& session, std::span<const int32_t> prefix,
                       std::string* warning) const {
    const detail::Internals::SessionImpl& s = detail::Internals::of(session);
    if (!s.backend->can_transfer_kv()) {
        set_warning(warning, "this backend cannot save its cache");
        return false;
    }
    const std::span<const int32_t> cached = session.tokens();
    if (prefix.empty() || prefix.size() > cached.size() ||
        !std::equal(prefix.begin(), prefix.end(), cached.begin()))
        throw Error("KvDiskCache::save: the session does not begin with the prefix");
    std::error_code error;
    fs::create_directories(folder_, error);
    const std::string path = entry_path(session, prefix);
    const std::string temporary = path + ".tmp." + std::to_string(::getpid());
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        if (!out) {
            set_warning(warning, "cannot write the cache folder " + folder_);
            return false;
        }
        const HyperParams& hp = detail::Internals::of(*s.model).hp;
        const auto length = uint64_t(s.backend->length());
        Header header{};
        std::memcpy(header.magic, kMagic, sizeof kMagic);
        const auto key = entry_key(s, prefix);
        header.key[0] = key[0];
        header.key[1] = key[1];
        header.kv_type = uint32_t(s.backend->kv_type());
        header.layers = uint32_t(hp.layer_count);
        header.kv_heads = uint32_t(hp.head_count_kv);
        header.head_dim = uint32_t(hp.head_dim);
        header.tokens = int64_t(prefix.size());
        header.block_count = uint32_t(s.backend->kv_blocks());
        Hasher checksum;
        bool header_written = false;
        s.backend->export_kv([&](const void* block, size_t bytes) {
            // Each block holds length() rows; only the prefix's are kept.
            const uint64_t kept = bytes / length * prefix.size();
            if (!header_written) {
                header.block_bytes = kept;
                out.write(reinterpret_cast<const char*>(&header), sizeof header);
                out.write(reinterpret_cast<const char*>(prefix.data()),
                          std::streamsize(prefix.size_bytes()));
                checksum.add(&header, sizeof header);
                checksum.add(prefix.data(), prefix.size_bytes());
                header_written = true;
            }
            out.write(static_cast<const char*>(block), std::streamsize(kept));
            checksum.add(block, kept);
        });
        const auto digest = checksum.digest();
        out.write(reinterpret_cast<const char*>(digest.data()), sizeof(uint64_t) * 2);
        out.flush();
        if (!out || !header_written) {
            out.close();
            fs::remove(temporary, error);
            set_warning(warning, "could not write " + path + " (disk full?)");
            return false;
        }
    }
    fs::rename(temporary, path, error);
    if (error) {
        fs::remove(temporary, error);
        set_warning(warning, "could not move the cache file into " + folder_);
        return false;
    }
    evict_beyond_cap();
    return true;
}

uint64_t KvDiskCache::total_bytes() const {
    uint64_t total = 0;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(folder_, error))
        if (entry.path().extension() == kExtension) total += entry.file_size(error);
    return total;
}

void KvDiskCache::evict_beyond_cap() const {
    struct Entry {
        fs::path path;
        fs::file_time_type used;
        uint64_t bytes;
    };
    std::vector<Entry> entries;
    uint64_t total = 0;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(folder_, error)) {
        if (entry.path().extension() != kExtension) continue;
        const uint64_t bytes = entry.file_size(error);
        entries.push_back({entry.path(), entry.last_write_time(error), bytes});
        total += bytes;
    }
    std::sort(entries.begin(), entries.end(),
              [](const Entry& a, const Entry& b) { return a.used < b.used; });
    // The newest entry stays even when it alone is over the cap.
    for (size_t k = 0; k + 1 < entries.size() && total > max_bytes_; ++k) {
        fs::remove(entries[k].path, error);
        total -= entries[k].bytes;
    }
}

}  // namespace selfextend
