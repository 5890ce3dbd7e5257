#include "backend/cpu/matmul.h"

#include <algorithm>
#include <vector>

#include "backend/cpu/integer_matmul.h"
#include "backend/cpu/quantized_dot.h"
#include "backend/cpu/simd.h"
#include "backend/cpu/thread_pool.h"
#include "backend/cpu/token_blocks.h"
#include "selfextend/error.h"

namespace selfextend::cpu {

namespace {

constexpr int64_t kPanelRows = 2 * kNativeLanes;  // weight rows per panel: two registers wide
constexpr int64_t kPanelDepth = 256;  // columns per panel: 32 rows x 256 floats = 32 KiB, in L1
// Tokens per micro-kernel: as many accumulators as leave room for the panel's two registers
// (AVX-512: 32 registers, 24 accumulators; AVX2 and SSE: 16 registers, 12).
constexpr int kTokenBlock = kNativeLanes == 16 ? 12 : 6;
constexpr int64_t kGemvMaxTokens = 3;  // up to this many tokens, multiply from stored rows

// Dot product of a row of per-element values (F32, F16, BF16) with x: 16 lanes at a time through
// load_vector, the tail through load_scalar.
template <typename Element, typename LoadVector, typename LoadScalar>
float dot_elements(const Element* w, const float* x, int64_t n, LoadVector load_vector,
                   LoadScalar load_scalar) {
    f32x16 acc{};
    int64_t k = 0;
    for (; k + kLanes <= n; k += kLanes) {
        if (k % (64 / sizeof(Element)) == 0) prefetch_ahead(w + k, 64);
        acc += load_vector(w + k) * load16(x + k);
    }
    float sum = reduce_add(acc);
    for (; k < n; ++k) sum += load_scalar(w[k]) * x[k];
    return sum;
}

// Columns [k0, k0 + depth) of stored row r as float32 (k0 and depth whole blocks of the type): F16
// through the vector conversion (the hot case), any other type through the dtype table.
void convert_slice(const WeightMatrix& w, int64_t r, int64_t k0, int64_t depth, float* out) {
    const DTypeTraits& type = *w.dtype;
    if (type.type == DType::F16 && depth % kLanes == 0) {
        const auto* h = reinterpret_cast<const uint16_t*>(w.row(r)) + k0;
        for (int64_t k = 0; k < depth; k += kLanes) store16(out + k, load16_f16(h + k));
        return;
    }
    type.dequantize_row(w.row(r) + k0 / type.block_size * type.bytes_per_block, out, depth);
}

// Converts rows [r0, r0 + 32) x columns [k0, k0 + depth) of w into panel[k][32], zero rows past
// the end. The rows are converted whole into `rows_buffer` (32 x kPanelDepth) and transposed from
// there: both stay in L1 (storing each converted value straight to its panel place touched a new
// cache line per value, and took a third of prefill).
void fill_panel(const WeightMatrix& w, int64_t r0, int64_t k0, int64_t depth, float* panel,
                float* rows_buffer) {
    const int64_t rows = std::min(kPanelRows, w.rows - r0);
    for (int64_t r = 0; r < kPanelRows; ++r) {
        float* out = rows_buffer + r * kPanelDepth;
        if (r < rows)
            convert_slice(w, r0 + r, k0, depth, out);
        else
            std::fill(out, out + depth, 0.0f);
    }
    for (int64_t k = 0; k < depth; ++k)
        for (int64_t r = 0; r < kPanelRows; ++r)
            panel[k * kPanelRows + r] = rows_buffer[r * kPanelDepth + k];
}

// y[t][r0 + r] (+)= the panel's rows times columns [k0, k0 + depth) of TOKENS tokens from t0:
// past the first slice of columns (k0 > 0) it adds to what the earlier slices left in y.
template <int TOKENS>
void panel_kernel(const float* panel, int64_t depth, const float* x, int64_t cols, int64_t k0,
                  int64_t t0, float* y, int64_t y_stride, int64_t r0, int64_t rows) {
    f32xN acc[TOKENS][2] = {};
    if (k0 > 0)
        for (int m = 0; m < TOKENS; ++m) {
            float start[kPanelRows] = {};
            std::copy_n(y + (t0 + m) * y_stride + r0, rows, start);
            acc[m][0] = loadN(start);
            acc[m][1] = loadN(start + kNativeLanes);
        }
    const float* xr[TOKENS];
    for (int m = 0; m < TOKENS; ++m) xr[m] = x + (t0 + m) * cols + k0;
    for (int64_t k = 0; k < depth; ++k) {
        const f32xN b0 = loadN(panel + k * kPanelRows);
        const f32xN b1 = loadN(panel + k * kPanelRows + kNativeLanes);
        for (int m = 0; m < TOKENS; ++m) {
            const float a = xr[m][k];
            acc[m][0] += a * b0;
            acc[m][1] += a * b1;
        }
    }
    for (int m = 0; m < TOKENS; ++m) {
        float* out = y + (t0 + m) * y_stride + r0;
        if (rows == kPanelRows) {
            storeN(out, acc[m][0]);
            storeN(out + kNativeLanes, acc[m][1]);
        } else {
            for (int64_t r = 0; r < rows; ++r)
                out[r] = r < kNativeLanes ? acc[m][0][r] : acc[m][1][r - kNativeLanes];
        }
    }
}

// Dot product of stored row r of a float-typed matrix (F32, F16, BF16) with x.
float dot_float_row(const WeightMatrix& w, int64_t r, const float* x) {
    const uint8_t* row = w.row(r);
    switch (w.dtype->type) {
        case DType::F32:
            return dot_elements(
                reinterpret_cast<const float*>(row), x, w.cols,
                [](const float* p) { return load16(p); }, [](float v) { return v; });
        case DType::F16:
            return dot_elements(
                reinterpret_cast<const uint16_t*>(row), x, w.cols,
                [](const uint16_t* p) { return load16_f16(p); }, half_to_float);
        case DType::BF16:
            return dot_elements(
                reinterpret_cast<const uint16_t*>(row), x, w.cols,
                [](const uint16_t* p) { return load16_bf16(p); }, bf16_to_float);
        default:
            break;
    }
    throw Error("matmul: no float dot product for " + std::string(w.dtype->name));
}

// Few tokens, quantized weights: the tokens' activations are rounded to 16-bit integers once,
// then every row is multiplied with them straight from its stored blocks.
void gemv_quantized(const WeightMatrix& w, QuantizedRowDot dot, const float* x, int64_t n, float* y,
                    ThreadPool& pool) {
    const int64_t block = activation_block(w.dtype->type);
    std::vector<Int16Activations> tokens(static_cast<size_t>(n));
    for (int64_t t = 0; t < n; ++t) tokens[size_t(t)].quantize(x + t * w.cols, w.cols, block);
    pool.parallel_for(w.rows, 64, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r)
            for (int64_t t = 0; t < n; ++t)
                y[t * w.rows + r] = dot(w.row(r), tokens[size_t(t)], w.cols);
    });
}

}  // namespace

void matmul(const WeightMatrix& w, const float* x, int64_t n, float* y, ThreadPool& pool) {
    if (n <= kGemvMaxTokens) {
        if (const QuantizedRowDot dot = quantized_row_dot(w.dtype->type)) {
            gemv_quantized(w, dot, x, n, y, pool);
            return;
        }
        pool.parallel_for(w.rows, 64, [&](int64_t begin, int64_t end) {
            for (int64_t r = begin; r < end; ++r)
                for (int64_t t = 0; t < n; ++t)
                    y[t * w.rows + r] = dot_float_row(w, r, x + t * w.cols);
        });
        return;
    }
    if (integer_matmul(w, x, n, y, pool)) return;
    // Many tokens: each panel of 32 rows is converted to float one slice of 256 columns at a
    // time, and every token is multiplied with the slice while it is in L1.
    const int64_t panels = (w.rows + kPanelRows - 1) / kPanelRows;
    pool.parallel_for(panels, 1, [&](int64_t begin, int64_t end) {
        std::vector<float> panel(size_t(kPanelDepth * kPanelRows));
        std::vector<float> rows_buffer(size_t(kPanelRows * kPanelDepth));
        for (int64_t p = begin; p < end; ++p) {
            const int64_t r0 = p * kPanelRows;
            const int64_t rows = std::min(kPanelRows, w.rows - r0);
            for (int64_t k0 = 0; k0 < w.cols; k0 += kPanelDepth) {
                const int64_t depth = std::min(kPanelDepth, w.cols - k0);
                fill_panel(w, r0, k0, depth, panel.data(), rows_buffer.data());
                for_token_blocks<kTokenBlock>(n, [&]<int TOKENS>(int64_t t0) {
                    panel_kernel<TOKENS>(panel.data(), depth, x, w.cols, k0, t0, y, w.rows, r0,
                                         rows);
                });
            }
        }
    });
}

}  // namespace selfextend::cpu
