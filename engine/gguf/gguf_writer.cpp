#include "gguf/gguf_writer.h"

#include <cstring>
#include <fstream>

namespace selfextend {

namespace {

class ByteSink {
  public:
    template <typename T>
    void put(T value) {
        append(&value, sizeof(T));
    }
    void put_string(const std::string& s) {
        put<uint64_t>(s.size());
        append(s.data(), s.size());
    }
    void append(const void* data, size_t size) {
        const size_t at = bytes.size();
        bytes.resize(at + size);
        if (size) std::memcpy(bytes.data() + at, data, size);
    }
    void pad_to(uint64_t alignment) {
        while (bytes.size() % alignment) bytes.push_back(0);
    }
    std::vector<uint8_t> bytes;
};

void put_value(ByteSink& sink, const GgufValue& value) {
    switch (value.type) {
        case GgufType::UInt8:
            sink.put<uint8_t>(uint8_t(value.u));
            break;
        case GgufType::Int8:
            sink.put<int8_t>(int8_t(value.i));
            break;
        case GgufType::UInt16:
            sink.put<uint16_t>(uint16_t(value.u));
            break;
        case GgufType::Int16:
            sink.put<int16_t>(int16_t(value.i));
            break;
        case GgufType::UInt32:
            sink.put<uint32_t>(uint32_t(value.u));
            break;
        case GgufType::Int32:
            sink.put<int32_t>(int32_t(value.i));
            break;
        case GgufType::UInt64:
            sink.put<uint64_t>(value.u);
            break;
        case GgufType::Int64:
            sink.put<int64_t>(value.i);
            break;
        case GgufType::Float32:
            sink.put<float>(float(value.f));
            break;
        case GgufType::Float64:
            sink.put<double>(value.f);
            break;
        case GgufType::Bool:
            sink.put<uint8_t>(value.u ? 1 : 0);
            break;
        case GgufType::String:
            sink.put_string(value.s);
            break;
        case GgufType::Array:
            sink.put<uint32_t>(uint32_t(value.element_type));
            sink.put<uint64_t>(value.items.size());
            for (const GgufValue& item : value.items) put_value(sink, item);
            break;
    }
}

GgufValue array_of(GgufType element_type, std::vector<GgufValue> items) {
    GgufValue value;
    value.type = GgufType::Array;
    value.element_type = element_type;
    value.items = std::move(items);
    return value;
}

}  // namespace

GgufValue gguf_string(std::string value) {
    GgufValue v;
    v.type = GgufType::String;
    v.s = std::move(value);
    return v;
}

GgufValue gguf_uint32(uint32_t value) {
    GgufValue v;
    v.type = GgufType::UInt32;
    v.u = value;
    return v;
}

GgufWriter::GgufWriter(uint64_t alignment) : alignment_(alignment) {
    if (alignment != kGgufDefaultAlignment) set_uint32("general.alignment", uint32_t(alignment));
}

void GgufWriter::set(const std::string& key, GgufValue value) {
    for (auto& [existing, old] : metadata_)
        if (existing == key) {
            old = std::move(value);
            return;
        }
    metadata_.emplace_back(key, std::move(value));
}

void GgufWriter::set_string(const std::string& key, std::string value) {
    set(key, gguf_string(std::move(value)));
}
void GgufWriter::set_uint32(const std::string& key, uint32_t value) {
    set(key, gguf_uint32(value));
}

void GgufWriter::set_int32(const std::string& key, int32_t value) {
    GgufValue v;
    v.type = GgufType::Int32;
    v.i = value;
    set(key, std::move(v));
}

void GgufWriter::set_float32(const std::string& key, float value) {
    GgufValue v;
    v.type = GgufType::Float32;
    v.f = value;
    set(key, std::move(v));
}

void GgufWriter::set_bool(const std::string& key, bool value) {
    GgufValue v;
    v.type = GgufType::Bool;
    v.u = value;
    set(key, std::move(v));
}

void GgufWriter::set_string_array(const std::string& key, const std::vector<std::string>& values) {
    std::vector<GgufValue> items;
    for (const auto& s : values) items.push_back(gguf_string(s));
    set(key, array_of(GgufType::String, std::move(items)));
}

void GgufWriter::set_float32_array(const std::string& key, const std::vector<float>& values) {
    std::vector<GgufValue> items;
    for (float f : values) {
        GgufValue v;
        v.type = GgufType::Float32;
        v.f = f;
        items.push_back(v);
    }
    set(key, array_of(GgufType::Float32, std::move(items)));
}

void GgufWriter::set_int32_array(const std::string& key, const std::vector<int32_t>& values) {
    std::vector<GgufValue> items;
    for (int32_t i : values) {
        GgufValue v;
        v.type = GgufType::Int32;
        v.i = i;
        items.push_back(v);
    }
    set(key, array_of(GgufType::Int32, std::move(items)));
}

void GgufWriter::add_tensor(const std::string& name, DType type, std::vector<int64_t> dims,
                            std::span<const uint8_t> data) {
    const DTypeTraits& traits = dtype_traits(type);
    int64_t rows = 1;
    for (size_t d = 1; d < dims.size(); ++d) rows *= dims[d];
    const int64_t expected = dims.empty() ? -1 : row_bytes(traits, dims[0]) * rows;
    if (expected < 0 || uint64_t(expected) != data.size())
        throw Error("tensor '" + name + "': " + std::to_string(data.size()) + " bytes given, " +
                    std::to_string(expected) + " expected");
    tensors_.push_back({name, type, std::move(dims), {data.begin(), data.end()}});
}

void GgufWriter::add_tensor_from_floats(const std::string& name, DType type,
                                        std::vector<int64_t> dims, std::span<const float> values) {
    const DTypeTraits& traits = dtype_traits(type);
    const int64_t row = dims.at(0);
    const int64_t bytes_per_row = row_bytes(traits, row);
    if (bytes_per_row < 0) throw Error("tensor '" + name + "': row not a whole number of blocks");
    const int64_t rows = int64_t(values.size()) / row;
    std::vector<uint8_t> data(size_t(bytes_per_row * rows));
    for (int64_t r = 0; r < rows; ++r)
        traits.quantize_row(values.data() + r * row, data.data() + r * bytes_per_row, row);
    add_tensor(name, type, std::move(dims), data);
}

std::vector<uint8_t> GgufWriter::header_bytes() const {
    ByteSink sink;
    sink.put<uint32_t>(kGgufMagic);
    sink.put<uint32_t>(3);
    sink.put<uint64_t>(tensors_.size());
    sink.put<uint64_t>(metadata_.size());
    for (const auto& [key, value] : metadata_) {
        sink.put_string(key);
        sink.put<uint32_t>(uint32_t(value.type));
        put_value(sink, value);
    }
    uint64_t offset = 0;
    for (const PendingTensor& tensor : tensors_) {
        sink.put_string(tensor.name);
        sink.put<uint32_t>(uint32_t(tensor.dims.size()));
        for (const int64_t d : tensor.dims) sink.put<uint64_t>(uint64_t(d));
        sink.put<uint32_t>(uint32_t(tensor.type));
        sink.put<uint64_t>(offset);
        offset += (tensor.data.size() + alignment_ - 1) / alignment_ * alignment_;
    }
    sink.pad_to(alignment_);
    return std::move(sink.bytes);
}

std::vector<uint8_t> GgufWriter::to_bytes() const {
    ByteSink sink;
    sink.bytes = header_bytes();
    for (const PendingTensor& tensor : tensors_) {
        sink.append(tensor.data.data(), tensor.data.size());
        sink.pad_to(alignment_);
    }
    return std::move(sink.bytes);
}

uint64_t GgufWriter::write(const std::string& path) const {
    // Write beside the target, then rename, so a failed write never leaves half a model.
    const std::string temporary = path + ".partial";
    uint64_t written = 0;
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        if (!out) throw Error("cannot write '" + temporary + "'");
        const std::vector<uint8_t> header = header_bytes();
        out.write(reinterpret_cast<const char*>(header.data()), std::streamsize(header.size()));
        written = header.size();
        const std::vector<char> padding(alignment_, 0);
        for (const PendingTensor& tensor : tensors_) {
            out.write(reinterpret_cast<const char*>(tensor.data.data()),
                      std::streamsize(tensor.data.size()));
            const uint64_t pad = (alignment_ - tensor.data.size() % alignment_) % alignment_;
            out.write(padding.data(), std::streamsize(pad));
            written += tensor.data.size() + pad;
        }
        out.flush();
        if (!out) {
            out.close();
            std::remove(temporary.c_str());
            throw Error("write to '" + temporary + "' failed (disk full?)");
        }
    }
    if (std::rename(temporary.c_str(), path.c_str()) != 0) {
        std::remove(temporary.c_str());
        throw Error("cannot rename '" + temporary + "' to '" + path + "'");
    }
    return written;
}

}  // namespace selfextend
