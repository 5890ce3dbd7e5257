#include "gguf/gguf_file.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <sstream>

#include "gguf/mapped_file.h"

namespace selfextend {

namespace {

constexpr int kMaxArrayNesting = 4;
constexpr uint64_t kMaxStringBytes = uint64_t(1) << 30;

// Reads little-endian fields from the file, checking each against the end first.
class Cursor {
  public:
    Cursor(std::span<const uint8_t> bytes, uint64_t offset) : bytes_(bytes), offset_(offset) {}

    uint64_t offset() const { return offset_; }
    uint64_t remaining() const { return bytes_.size() - offset_; }

    template <typename T>
    T read(const char* what) {
        require(sizeof(T), what);
        T value;
        std::memcpy(&value, bytes_.data() + offset_, sizeof(T));
        offset_ += sizeof(T);
        return value;
    }

    std::string read_string(const char* what) {
        const uint64_t start = offset_;
        const auto length = read<uint64_t>(what);
        if (length > remaining() || length > kMaxStringBytes)
            throw GgufError(std::string(what) + ": string length " + std::to_string(length) +
                                " runs past the end of the file",
                            start);
        std::string text(reinterpret_cast<const char*>(bytes_.data() + offset_), length);
        offset_ += length;
        return text;
    }

    void require(uint64_t n, const char* what) const {
        if (n > remaining()) throw GgufError(std::string("file ends inside ") + what, offset_);
    }

  private:
    std::span<const uint8_t> bytes_;
    uint64_t offset_;
};

// Smallest number of bytes one element of a type can take (for plausibility checks on counts).
uint64_t minimum_bytes(GgufType type) {
    switch (type) {
        case GgufType::UInt8:
        case GgufType::Int8:
        case GgufType::Bool:
            return 1;
        case GgufType::UInt16:
        case GgufType::Int16:
            return 2;
        case GgufType::UInt32:
        case GgufType::Int32:
        case GgufType::Float32:
            return 4;
        case GgufType::UInt64:
        case GgufType::Int64:
        case GgufType::Float64:
            return 8;
        case GgufType::String:
            return 8;  // the length prefix
        case GgufType::Array:
            return 12;  // element type + count
    }
    return 1;
}

bool known_type(uint32_t raw) {
    return raw <= uint32_t(GgufType::Float64);
}

// A key or tensor name as it may appear in a message: control bytes (a NUL would end the C
// string of what()) written as \xNN, and long names cut.
std::string printable(const std::string& name) {
    std::string out;
    for (const char c : name.substr(0, 200)) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02x",
                          unsigned(static_cast<unsigned char>(c)));
            out += escaped;
        } else {
            out += c;
        }
    }
    return name.size() > 200 ? out + "..." : out;
}

GgufValue read_value(Cursor& cursor, GgufType type, int depth) {
    GgufValue value;
    value.type = type;
    switch (type) {
        case GgufType::UInt8:
            value.u = cursor.read<uint8_t>("a uint8 value");
            break;
        case GgufType::Int8:
            value.i = cursor.read<int8_t>("an int8 value");
            break;
        case GgufType::UInt16:
            value.u = cursor.read<uint16_t>("a uint16 value");
            break;
        case GgufType::Int16:
            value.i = cursor.read<int16_t>("an int16 value");
            break;
        case GgufType::UInt32:
            value.u = cursor.read<uint32_t>("a uint32 value");
            break;
        case GgufType::Int32:
            value.i = cursor.read<int32_t>("an int32 value");
            break;
        case GgufType::UInt64:
            value.u = cursor.read<uint64_t>("a uint64 value");
            break;
        case GgufType::Int64:
            value.i = cursor.read<int64_t>("an int64 value");
            break;
        case GgufType::Float32:
            value.f = cursor.read<float>("a float32 value");
            break;
        case GgufType::Float64:
            value.f = cursor.read<double>("a float64 value");
            break;
        case GgufType::Bool: {
            const uint64_t at = cursor.offset();
            const auto raw = cursor.read<uint8_t>("a bool value");
            if (raw > 1)
                throw GgufError("bool value " + std::to_string(raw) + " is not 0 or 1", at);
            value.u = raw;
            break;
        }
        case GgufType::String:
            value.s = cursor.read_string("a string value");
            break;
        case GgufType::Array: {
            const uint64_t at = cursor.offset();
            if (depth >= kMaxArrayNesting)
                throw GgufError("arrays nested deeper than " + std::to_string(kMaxArrayNesting),
                                at);
            const auto raw_element = cursor.read<uint32_t>("an array's element type");
            if (!known_type(raw_element))
                throw GgufError("unknown array element type " + std::to_string(raw_element), at);
            value.element_type = GgufType(raw_element);
            const uint64_t count_at = cursor.offset();
            const auto count = cursor.read<uint64_t>("an array's length");
            if (count > cursor.remaining() / minimum_bytes(value.element_type))
                throw GgufError("array of " + std::to_string(count) +
                                    " elements cannot fit in the rest of the file",
                                count_at);
            value.items.reserve(count);
            for (uint64_t k = 0; k < count; ++k)
                value.items.push_back(read_value(cursor, value.element_type, depth + 1));
            break;
        }
    }
    return value;
}

bool multiply_overflows(int64_t a, int64_t b, int64_t* product) {
    return __builtin_mul_overflow(a, b, product);
}

}  // namespace

GgufError::GgufError(const std::string& problem, uint64_t offset)
    : Error("GGUF: " + problem + " (at byte " + std::to_string(offset) + ")"),
      problem_(problem),
      offset_(offset) {}

std::string_view gguf_value_type_name(GgufType type) {
    static constexpr std::string_view kNames[] = {"uint8",  "int8",    "uint16", "int16",  "uint32",
                                                  "int32",  "float32", "bool",   "string", "array",
                                                  "uint64", "int64",   "float64"};
    return known_type(uint32_t(type)) ? kNames[uint32_t(type)] : "unknown";
}

bool GgufValue::is_integer() const {
    switch (type) {
        case GgufType::UInt8:
        case GgufType::Int8:
        case GgufType::UInt16:
        case GgufType::Int16:
        case GgufType::UInt32:
        case GgufType::Int32:
        case GgufType::UInt64:
        case GgufType::Int64:
            return true;
        default:
            return false;
    }
}

int64_t GgufValue::as_int() const {
    switch (type) {
        case GgufType::Int8:
        case GgufType::Int16:
        case GgufType::Int32:
        case GgufType::Int64:
            return i;
        case GgufType::UInt8:
        case GgufType::UInt16:
        case GgufType::UInt32:
        case GgufType::Bool:
            return int64_t(u);
        case GgufType::UInt64:
            if (u > uint64_t(std::numeric_limits<int64_t>::max()))
                throw Error("integer value too large");
            return int64_t(u);
        default:
            throw Error("expected an integer, found " + std::string(gguf_value_type_name(type)));
    }
}

double GgufValue::as_double() const {
    if (is_float()) return f;
    return double(as_int());
}

std::string GgufValue::to_display_string(size_t max_items) const {
    std::ostringstream out;
    switch (type) {
        case GgufType::String:
            out << '"' << s << '"';
            break;
        case GgufType::Bool:
            out << (u ? "true" : "false");
            break;
        case GgufType::Float32:
        case GgufType::Float64:
            out << f;
            break;
        case GgufType::Array: {
            out << '[';
            for (size_t k = 0; k < items.size() && k < max_items; ++k)
                out << (k ? ", " : "") << items[k].to_display_string(max_items);
            if (items.size() > max_items) out << ", ... (" << items.size() << " items)";
            out << ']';
            break;
        }
        default:
            out << as_int();
    }
    return out.str();
}

int64_t GgufTensor::element_count() const {
    int64_t n = 1;
    for (const int64_t d : dims) n *= d;
    return n;
}

int64_t GgufTensor::rows() const {
    return dims.empty() ? 1 : element_count() / dims[0];
}

GgufFile GgufFile::open(const std::string& path) {
    GgufFile file;
    file.map_ = std::make_shared<const MappedFile>(path);
    file.bytes_ = file.map_->bytes();
    file.origin_ = path;
    try {
        file.parse_all();
    } catch (const GgufError& e) {
        throw GgufError(e.problem() + " in '" + path + "'", e.offset());
    }
    return file;
}

GgufFile GgufFile::parse(std::span<const uint8_t> bytes, std::string origin) {
    GgufFile file;
    file.bytes_ = bytes;
    file.origin_ = std::move(origin);
    file.parse_all();
    return file;
}

void GgufFile::parse_all() {
    Cursor cursor(bytes_, 0);
    if (bytes_.size() < 4)
        throw GgufError("file too short to be GGUF (" + std::to_string(bytes_.size()) + " bytes)",
                        0);
    if (cursor.read<uint32_t>("the magic") != kGgufMagic)
        throw GgufError("not a GGUF file (bad magic)", 0);
    version_ = cursor.read<uint32_t>("the version");
    if (version_ != 2 && version_ != 3)
        throw GgufError(
            "unsupported GGUF version " + std::to_string(version_) + " (2 and 3 are read)", 4);
    const uint64_t tensor_count_at = cursor.offset();
    const auto tensor_count = cursor.read<uint64_t>("the tensor count");
    const uint64_t kv_count_at = cursor.offset();
    const auto kv_count = cursor.read<uint64_t>("the metadata count");
    // Each key/value takes at least 8 (key length) + 4 (type) + 1 bytes; each tensor info
    // 8+4+8+4+8.
    if (kv_count > cursor.remaining() / 13)
        throw GgufError("metadata count " + std::to_string(kv_count) + " cannot fit in the file",
                        kv_count_at);
    if (tensor_count > cursor.remaining() / 32)
        throw GgufError("tensor count " + std::to_string(tensor_count) + " cannot fit in the file",
                        tensor_count_at);

    metadata_.reserve(kv_count);
    for (uint64_t k = 0; k < kv_count; ++k) {
        const uint64_t key_at = cursor.offset();
        std::string key = cursor.read_string("a metadata key");
        if (key.empty()) throw GgufError("empty metadata key", key_at);
        const uint64_t type_at = cursor.offset();
        const auto raw_type = cursor.read<uint32_t>("a metadata type");
        if (!known_type(raw_type))
            throw GgufError("unknown metadata type " + std::to_string(raw_type) + " for key '" +
                                printable(key) + "'",
                            type_at);
        const uint64_t value_at = cursor.offset();
        GgufValue value = read_value(cursor, GgufType(raw_type), 0);
        if (!metadata_index_.emplace(key, metadata_.size()).second)
            throw GgufError("duplicate metadata key '" + printable(key) + "'", key_at);
        metadata_.emplace_back(std::move(key), std::move(value));
        metadata_offsets_.push_back(value_at);
    }

    if (const GgufValue* align = find("general.alignment")) {
        const uint64_t at = metadata_offsets_[metadata_index_.at("general.alignment")];
        if (!align->is_integer()) throw GgufError("general.alignment is not an integer", at);
        const bool is_signed = align->type == GgufType::Int8 || align->type == GgufType::Int16 ||
                               align->type == GgufType::Int32 || align->type == GgufType::Int64;
        if (is_signed && align->i <= 0)
            throw GgufError("general.alignment " + std::to_string(align->i) + " is not positive",
                            at);
        const uint64_t a = is_signed ? uint64_t(align->i) : align->u;
        if (a == 0 || (a & (a - 1)) != 0 || a > (1u << 20))
            throw GgufError(
                "general.alignment " + std::to_string(a) + " is not a power of two up to 2^20", at);
        alignment_ = a;
    }

    tensors_.reserve(tensor_count);
    for (uint64_t t = 0; t < tensor_count; ++t) {
        const uint64_t info_at = cursor.offset();
        GgufTensor tensor;
        tensor.name = cursor.read_string("a tensor name");
        if (tensor.name.empty()) throw GgufError("empty tensor name", info_at);
        const uint64_t dims_at = cursor.offset();
        const auto n_dims = cursor.read<uint32_t>("a tensor's dimension count");
        if (n_dims == 0 || n_dims > uint32_t(kGgufMaxDims))
            throw GgufError("tensor '" + printable(tensor.name) + "' has " +
                                std::to_string(n_dims) + " dimensions (1 to 4 allowed)",
                            dims_at);
        int64_t elements = 1;
        for (uint32_t d = 0; d < n_dims; ++d) {
            const uint64_t dim_at = cursor.offset();
            const auto dim = cursor.read<uint64_t>("a tensor dimension");
            if (dim == 0 || dim > uint64_t(std::numeric_limits<int64_t>::max()) ||
                multiply_overflows(elements, int64_t(dim), &elements))
                throw GgufError("tensor '" + printable(tensor.name) +
                                    "' has an invalid dimension " + std::to_string(dim),
                                dim_at);
            tensor.dims.push_back(int64_t(dim));
        }
        const uint64_t type_at = cursor.offset();
        tensor.raw_type = cursor.read<uint32_t>("a tensor type");
        tensor.dtype = find_dtype(tensor.raw_type);
        if (!tensor.dtype)
            throw GgufError("tensor '" + printable(tensor.name) + "' has unsupported type " +
                                gguf_type_name(tensor.raw_type) + " (" +
                                std::to_string(tensor.raw_type) +
                                "; supported: " + supported_dtype_names() + ")",
                            type_at);
        int64_t bytes_per_row = 0;
        if (tensor.dims[0] % tensor.dtype->block_size != 0)
            throw GgufError("tensor '" + printable(tensor.name) + "' row of " +
                                std::to_string(tensor.dims[0]) +
                                " values is not a whole number of " +
                                std::string(tensor.dtype->name) + " blocks",
                            dims_at);
        if (multiply_overflows(tensor.dims[0] / tensor.dtype->block_size,
                               tensor.dtype->bytes_per_block, &bytes_per_row))
            throw GgufError("tensor '" + printable(tensor.name) + "' is too large", dims_at);
        int64_t total_bytes = 0;
        if (multiply_overflows(bytes_per_row, elements / tensor.dims[0], &total_bytes))
            throw GgufError("tensor '" + printable(tensor.name) + "' is too large", dims_at);
        tensor.bytes = uint64_t(total_bytes);
        const uint64_t offset_at = cursor.offset();
        tensor.offset = cursor.read<uint64_t>("a tensor offset");
        if (tensor.offset % alignment_ != 0)
            throw GgufError("tensor '" + printable(tensor.name) + "' offset " +
                                std::to_string(tensor.offset) + " is not aligned to " +
                                std::to_string(alignment_),
                            offset_at);
        if (!tensor_index_.emplace(tensor.name, tensors_.size()).second)
            throw GgufError("duplicate tensor name '" + printable(tensor.name) + "'", info_at);
        tensors_.push_back(std::move(tensor));
    }

    // The data section starts at the next multiple of the alignment.
    const uint64_t header_end = cursor.offset();
    const uint64_t data_start = (header_end + alignment_ - 1) / alignment_ * alignment_;
    if (!tensors_.empty() && data_start > bytes_.size())
        throw GgufError("file ends before the tensor data section", header_end);
    const uint64_t data_bytes = bytes_.size() - std::min<uint64_t>(data_start, bytes_.size());

    std::vector<const GgufTensor*> by_offset;
    for (GgufTensor& tensor : tensors_) {
        if (tensor.offset > data_bytes || tensor.bytes > data_bytes - tensor.offset)
            throw GgufError("tensor '" + printable(tensor.name) + "' (" +
                                std::string(tensor.dtype->name) + ", " +
                                std::to_string(tensor.bytes) + " bytes at data offset " +
                                std::to_string(tensor.offset) + ") runs past the end of the file",
                            data_start + std::min(tensor.offset, data_bytes));
        tensor.data = bytes_.data() + data_start + tensor.offset;
        by_offset.push_back(&tensor);
    }
    std::sort(by_offset.begin(), by_offset.end(),
              [](const GgufTensor* a, const GgufTensor* b) { return a->offset < b->offset; });
    for (size_t k = 1; k < by_offset.size(); ++k) {
        const GgufTensor& previous = *by_offset[k - 1];
        if (previous.offset + previous.bytes > by_offset[k]->offset)
            throw GgufError("tensors '" + printable(previous.name) + "' and '" +
                                printable(by_offset[k]->name) + "' overlap",
                            data_start + by_offset[k]->offset);
    }
}

const GgufValue* GgufFile::find(std::string_view key) const {
    const auto it = metadata_index_.find(std::string(key));
    return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

const GgufTensor* GgufFile::find_tensor(std::string_view name) const {
    const auto it = tensor_index_.find(std::string(name));
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::optional<std::string> GgufFile::find_string(std::string_view key) const {
    const GgufValue* value = find(key);
    if (!value) return std::nullopt;
    if (value->type != GgufType::String)
        throw Error("metadata '" + std::string(key) + "' is not a string");
    return value->s;
}

std::string GgufFile::get_string(std::string_view key) const {
    auto value = find_string(key);
    if (!value) throw Error("missing metadata '" + std::string(key) + "'");
    return *value;
}

int64_t GgufFile::get_int(std::string_view key) const {
    const GgufValue* value = find(key);
    if (!value) throw Error("missing metadata '" + std::string(key) + "'");
    if (!value->is_integer()) throw Error("metadata '" + std::string(key) + "' is not an integer");
    return value->as_int();
}

int64_t GgufFile::get_int_or(std::string_view key, int64_t fallback) const {
    return find(key) ? get_int(key) : fallback;
}

double GgufFile::get_float_or(std::string_view key, double fallback) const {
    const GgufValue* value = find(key);
    if (!value) return fallback;
    if (!value->is_float() && !value->is_integer())
        throw Error("metadata '" + std::string(key) + "' is not a number");
    return value->as_double();
}

bool GgufFile::get_bool_or(std::string_view key, bool fallback) const {
    const GgufValue* value = find(key);
    if (!value) return fallback;
    if (value->type != GgufType::Bool)
        throw Error("metadata '" + std::string(key) + "' is not a bool");
    return value->u != 0;
}

}  // namespace selfextend
