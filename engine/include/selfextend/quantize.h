// Rewrites a GGUF model with its matrices stored in another type: any type the engine reads
// (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K), from any of them;
// F32 gives an exact copy of a quantized model. Vectors (norm weights) stay as stored; matrices
// whose rows are not whole blocks of the target keep their type.
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

// type: a type name as above (case-insensitive). Writes output atomically
// (a partial file is never left under the output name). Throws Error.
QuantizeResult quantize_model(const std::string& input, const std::string& output,
                              const std::string& type,
                              const std::function<void(double fraction)>& progress = {});

}  // namespace selfextend
