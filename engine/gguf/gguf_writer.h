// Writes GGUF v3 files: metadata in insertion order, tensor infos, aligned data.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"

namespace selfextend {

class GgufWriter {
  public:
    explicit GgufWriter(uint64_t alignment = kGgufDefaultAlignment);

    void set(const std::string& key, GgufValue value);
    void set_string(const std::string& key, std::string value);
    void set_uint32(const std::string& key, uint32_t value);
    void set_int32(const std::string& key, int32_t value);
    void set_float32(const std::string& key, float value);
    void set_bool(const std::string& key, bool value);
    void set_string_array(const std::string& key, const std::vector<std::string>& values);
    void set_float32_array(const std::string& key, const std::vector<float>& values);
    void set_int32_array(const std::string& key, const std::vector<int32_t>& values);

    // dims: ne[0] (contiguous) first; data must hold exactly the tensor's bytes.
    void add_tensor(const std::string& name, DType type, std::vector<int64_t> dims,
                    std::span<const uint8_t> data);
    // Stores float data as the given type (quantizing or converting rows as needed).
    void add_tensor_from_floats(const std::string& name, DType type, std::vector<int64_t> dims,
                                std::span<const float> values);

    std::vector<uint8_t> to_bytes() const;
    // Streams the file to path (header, then each tensor's data) through a temporary file that is
    // renamed into place at the end; returns the bytes written. Throws Error on I/O failure.
    uint64_t write(const std::string& path) const;

  private:
    std::vector<uint8_t> header_bytes() const;  // everything before the tensor data

    struct PendingTensor {
        std::string name;
        DType type;
        std::vector<int64_t> dims;
        std::vector<uint8_t> data;
    };
    uint64_t alignment_;
    std::vector<std::pair<std::string, GgufValue>> metadata_;
    std::vector<PendingTensor> tensors_;
};

// Helpers to build metadata values.
GgufValue gguf_string(std::string value);
GgufValue gguf_uint32(uint32_t value);

}  // namespace selfextend
