// Row dequantizers of the quantized types, for the dtype table (block layouts in
// block_layouts.h). Each converts n values (a whole number of blocks) at src into dst. Every
// value is the float nearest to the exact value the layout defines: the products of scales and
// codes are exact in float, so at most the final addition of a min rounds.
#pragma once

#include <cstdint>

namespace selfextend {

void dequantize_row_q4_0(const void* src, float* dst, int64_t n);
void dequantize_row_q4_1(const void* src, float* dst, int64_t n);
void dequantize_row_q5_0(const void* src, float* dst, int64_t n);
void dequantize_row_q5_1(const void* src, float* dst, int64_t n);
void dequantize_row_q8_0(const void* src, float* dst, int64_t n);
void dequantize_row_q2_k(const void* src, float* dst, int64_t n);
void dequantize_row_q3_k(const void* src, float* dst, int64_t n);
void dequantize_row_q4_k(const void* src, float* dst, int64_t n);
void dequantize_row_q5_k(const void* src, float* dst, int64_t n);
void dequantize_row_q6_k(const void* src, float* dst, int64_t n);

}  // namespace selfextend
