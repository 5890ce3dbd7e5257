// GGUF (versions 2 and 3): a header, typed key/value metadata, tensor descriptions, then the
// aligned tensor data. The reader validates every count, length and offset against the file
// size before using it and reports the first problem with its byte offset; it never reads past
// the end. Tensor data stay in the memory map.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gguf/dtype.h"
#include "selfextend/error.h"

namespace selfextend {

class MappedFile;

inline constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as little-endian
inline constexpr uint64_t kGgufDefaultAlignment = 32;
inline constexpr int kGgufMaxDims = 4;

enum class GgufType : uint32_t {
    UInt8 = 0,
    Int8 = 1,
    UInt16 = 2,
    Int16 = 3,
    UInt32 = 4,
    Int32 = 5,
    Float32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    UInt64 = 10,
    Int64 = 11,
    Float64 = 12,
};
std::string_view gguf_value_type_name(GgufType type);

class GgufError : public Error {
  public:
    GgufError(const std::string& problem, uint64_t offset);
    uint64_t offset() const { return offset_; }
    const std::string& problem() const { return problem_; }

  private:
    std::string problem_;
    uint64_t offset_;
};

// One metadata value. Scalars are kept widened; arrays keep their element type.
struct GgufValue {
    GgufType type = GgufType::UInt8;
    uint64_t u = 0;  // unsigned integers and bool
    int64_t i = 0;   // signed integers
    double f = 0;    // floats
    std::string s;
    GgufType element_type = GgufType::UInt8;  // arrays only
    std::vector<GgufValue> items;             // arrays only

    bool is_integer() const;
    bool is_float() const { return type == GgufType::Float32 || type == GgufType::Float64; }
    // Integer value of any integer type (throws Error for other types).
    int64_t as_int() const;
    double as_double() const;  // any integer or float type
    std::string to_display_string(size_t max_items = 8) const;
};

struct GgufTensor {
    std::string name;
    std::vector<int64_t> dims;  // ne[0] (contiguous) first, as in the file
    uint32_t raw_type = 0;
    const DTypeTraits* dtype = nullptr;  // never null after parsing
    uint64_t offset = 0;                 // from the start of the data section
    uint64_t bytes = 0;
    const uint8_t* data = nullptr;

    int64_t element_count() const;
    int64_t rows() const;  // product of dims[1..]
};

class GgufFile {
  public:
    static GgufFile open(const std::string& path);
    // Parses bytes the caller keeps alive for the life of the result (tests, in-memory files).
    static GgufFile parse(std::span<const uint8_t> bytes, std::string origin = "<memory>");

    uint32_t version() const { return version_; }
    uint64_t alignment() const { return alignment_; }
    uint64_t file_bytes() const { return bytes_.size(); }
    std::span<const uint8_t> bytes() const { return bytes_; }
    const std::string& origin() const { return origin_; }

    const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
    const GgufValue* find(std::string_view key) const;
    const std::vector<GgufTensor>& tensors() const { return tensors_; }
    const GgufTensor* find_tensor(std::string_view name) const;

    // Typed metadata access; the *_or forms return the fallback when the key is absent and
    // throw Error when it is present with the wrong type.
    std::string get_string(std::string_view key) const;
    std::optional<std::string> find_string(std::string_view key) const;
    int64_t get_int(std::string_view key) const;
    int64_t get_int_or(std::string_view key, int64_t fallback) const;
    double get_float_or(std::string_view key, double fallback) const;
    bool get_bool_or(std::string_view key, bool fallback) const;

  private:
    GgufFile() = default;
    void parse_all();

    std::shared_ptr<const MappedFile> map_;
    std::span<const uint8_t> bytes_;
    std::string origin_;
    uint32_t version_ = 0;
    uint64_t alignment_ = kGgufDefaultAlignment;
    std::vector<std::pair<std::string, GgufValue>> metadata_;
    std::unordered_map<std::string, size_t> metadata_index_;
    std::vector<uint64_t> metadata_offsets_;  // where each value starts, for error messages
    std::vector<GgufTensor> tensors_;
    std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace selfextend
