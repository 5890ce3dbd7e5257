// The one table of tensor element types: how many values a block holds, how many bytes it
// takes, how to turn a row of it into float32 and (for the types the engine can write) back.
// Every backend, the GGUF parser and the writer use it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "gguf/block_layouts.h"

namespace selfextend {

// Values as numbered by the GGUF format (ggml_type).
enum class DType : uint32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    BF16 = 30,
};

struct DTypeTraits {
    DType type;
    std::string_view name;
    int64_t block_size;       // values per block
    int64_t bytes_per_block;  // bytes per block
    // Converts n values (n a multiple of block_size) starting at src into dst.
    void (*dequantize_row)(const void* src, float* dst, int64_t n);
    // Stores n floats (n a multiple of block_size) at dst in this type.
    void (*quantize_row)(const float* src, void* dst, int64_t n);
};

// The traits for a raw GGUF type number, or nullptr when the engine does not support it.
const DTypeTraits* find_dtype(uint32_t raw_type);
const DTypeTraits& dtype_traits(DType type);
// The traits of a type by its name ("Q4_K", "q8_0": case ignored), or nullptr.
const DTypeTraits* find_dtype_named(std::string_view name);

// Every supported type, in GGUF numbering order.
std::span<const DTypeTraits> supported_dtypes();

// "F32, F16, Q4_0, ..., BF16": for messages that list what the engine reads.
std::string supported_dtype_names();

// A name for any GGUF type number, supported or not ("Q4_K", "type 99").
std::string gguf_type_name(uint32_t raw_type);

// Bytes taken by a row of n values, or -1 when n is not a whole number of blocks (or too large).
int64_t row_bytes(const DTypeTraits& traits, int64_t n);

float half_to_float(uint16_t h);
uint16_t float_to_half(float f);
float bf16_to_float(uint16_t h);
uint16_t float_to_bf16(float f);

// Quantizers, used by the GGUF writer (tests, `selfextend-cli quantize`); n a multiple of the
// block size. Q8_0 and Q4_0 round each value with the exact block scale (as ggml's reference
// quantizer does); the others round to the nearest code under the scales as stored (f16, and the
// k-quants' small integer scales, rounded up so that every value lies inside its sub-block's
// range of codes).
void quantize_row_q8_0(const float* src, BlockQ8_0* dst, int64_t n);
void quantize_row_q4_0(const float* src, BlockQ4_0* dst, int64_t n);
void quantize_row_q4_1(const float* src, BlockQ4_1* dst, int64_t n);
void quantize_row_q5_0(const float* src, BlockQ5_0* dst, int64_t n);
void quantize_row_q5_1(const float* src, BlockQ5_1* dst, int64_t n);
void quantize_row_q2_k(const float* src, BlockQ2_K* dst, int64_t n);
void quantize_row_q3_k(const float* src, BlockQ3_K* dst, int64_t n);
void quantize_row_q4_k(const float* src, BlockQ4_K* dst, int64_t n);
void quantize_row_q5_k(const float* src, BlockQ5_K* dst, int64_t n);
void quantize_row_q6_k(const float* src, BlockQ6_K* dst, int64_t n);

}  // namespace selfextend
