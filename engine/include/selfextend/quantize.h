// Rewrites a GGUF model with its matrices stored in another type (F32, F16, BF16, Q8_0, Q4_0).
// Vectors (norm weights) stay float32; matrices whose rows are not whole blocks keep their type.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace selfextend {

struct QuantizeResult {
    uint64_t input_bytes = 0;
    uint64_t output_bytes = 0;
    int tensors_converted = 0;
    int tensors_kept = 0;
};

// type: "F32", "F16", "BF16", "Q8_0" or "Q4_0" (case-insensitive). Writes output atomically
// (a partial file is never left under the output name). Throws Error.
QuantizeResult quantize_model(const std::string& input, const std::string& output,
                              const std::string& type,
                              const std::function<void(double fraction)>& progress = {});

}  // namespace selfextend
