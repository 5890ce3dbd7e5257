// The one table of tensor element types: how many values a block holds, how many bytes it
// takes, and how to turn a row of it into float32. Every backend and the GGUF parser use it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace selfextend {

// Values as numbered by the GGUF format (ggml_type).
enum class DType : uint32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q8_0 = 8,
    BF16 = 30,
};

struct DTypeTraits {
    DType type;
    std::string_view name;
    int64_t block_size;       // values per block
    int64_t bytes_per_block;  // bytes per block
    // Converts n values (n a multiple of block_size) starting at src into dst.
    void (*dequantize_row)(const void* src, float* dst, int64_t n);
};

// The traits for a raw GGUF type number, or nullptr when the engine does not support it.
const DTypeTraits* find_dtype(uint32_t raw_type);
const DTypeTraits& dtype_traits(DType type);

// A name for any GGUF type number, supported or not ("Q4_K", "type 99").
std::string gguf_type_name(uint32_t raw_type);

// Bytes taken by a row of n values, or -1 when n is not a whole number of blocks (or too large).
int64_t row_bytes(const DTypeTraits& traits, int64_t n);

float half_to_float(uint16_t h);
uint16_t float_to_half(float f);
float bf16_to_float(uint16_t h);
uint16_t float_to_bf16(float f);

// Block layouts, as stored in GGUF files.
inline constexpr int kQ8_0Block = 32;
inline constexpr int kQ4_0Block = 32;
struct BlockQ8_0 {
    uint16_t scale;  // f16
    int8_t q[kQ8_0Block];
};
struct BlockQ4_0 {
    uint16_t scale;             // f16
    uint8_t q[kQ4_0Block / 2];  // value k in the low nibble of q[k], value k+16 in the high one
};
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18);

// Quantizers, used by the GGUF writer (tests, `selfextend-cli quantize`).
void quantize_row_q8_0(const float* src, BlockQ8_0* dst, int64_t n);
void quantize_row_q4_0(const float* src, BlockQ4_0* dst, int64_t n);

}  // namespace selfextend
