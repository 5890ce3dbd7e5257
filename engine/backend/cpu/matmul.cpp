#include "backend/cpu/matmul.h"

#include <algorithm>
#include <vector>

#include "backend/cpu/quantized_dot.h"
#include "backend/cpu/simd.h"
#include "backend/cpu/thread_pool.h"
#include "selfextend/error.h"

namespace selfextend::cpu {

namespace {

constexpr int64_t kPanelRows = 2 * kNativeLanes;  // weight rows per panel: two registers wide
constexpr int kTokenBlock = 6;                    // tokens per micro-kernel: 12 accumulators
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

// One stored row as float32: F16 through the vector conversion (the hot case), any other type
// through the dtype table.
void convert_row(const WeightMatrix& w, int64_t r, float* out) {
    if (w.dtype->type == DType::F16 && w.cols % kLanes == 0) {
        const auto* h = reinterpret_cast<const uint16_t*>(w.row(r));
        for (int64_t k = 0; k < w.cols; k += kLanes) store16(out + k, load16_f16(h + k));
        return;
    }
    w.dtype->dequantize_row(w.row(r), out, w.cols);
}

// Converts rows [r0, r0 + 32) of w into panel[k][32] (k < cols), zero rows past the end.
void fill_panel(const WeightMatrix& w, int64_t r0, float* panel, float* row_buffer) {
    const int64_t rows = std::min(kPanelRows, w.rows - r0);
    for (int64_t r = 0; r < kPanelRows; ++r) {
        if (r < rows) {
            convert_row(w, r0 + r, row_buffer);
            for (int64_t k = 0; k < w.cols; ++k) panel[k * kPanelRows + r] = row_buffer[k];
        } else {
            for (int64_t k = 0; k < w.cols; ++k) panel[k * kPanelRows + r] = 0.0f;
        }
    }
}

// y[t][r0 + r] for TOKENS tokens from t0 and the panel's rows.
template <int TOKENS>
void panel_kernel(const float* panel, const float* x, int64_t cols, int64_t t0, float* y,
                  int64_t y_stride, int64_t r0, int64_t rows) {
    f32xN acc[TOKENS][2] = {};
    const float* xr[TOKENS];
    for (int m = 0; m < TOKENS; ++m) xr[m] = x + (t0 + m) * cols;
    for (int64_t k = 0; k < cols; ++k) {
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

void panel_times_tokens(const float* panel, const float* x, int64_t n, int64_t cols, float* y,
                        int64_t y_stride, int64_t r0, int64_t rows) {
    int64_t t = 0;
    for (; t + kTokenBlock <= n; t += kTokenBlock)
        panel_kernel<kTokenBlock>(panel, x, cols, t, y, y_stride, r0, rows);
    switch (n - t) {
        case 5:
            panel_kernel<5>(panel, x, cols, t, y, y_stride, r0, rows);
            break;
        case 4:
            panel_kernel<4>(panel, x, cols, t, y, y_stride, r0, rows);
            break;
        case 3:
            panel_kernel<3>(panel, x, cols, t, y, y_stride, r0, rows);
            break;
        case 2:
            panel_kernel<2>(panel, x, cols, t, y, y_stride, r0, rows);
            break;
        case 1:
            panel_kernel<1>(panel, x, cols, t, y, y_stride, r0, rows);
            break;
        default:
            break;
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
void gemv_quantized(const WeightMatrix& w, const QuantizedDot& kernel, const float* x, int64_t n,
                    float* y, ThreadPool& pool) {
    std::vector<Int16Activations> tokens(static_cast<size_t>(n));
    for (int64_t t = 0; t < n; ++t)
        tokens[size_t(t)].quantize(x + t * w.cols, w.cols, kernel.activation_block);
    const QuantizedRowDot dot = kernel.row_dot;
    pool.parallel_for(w.rows, 64, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r)
            for (int64_t t = 0; t < n; ++t)
                y[t * w.rows + r] = dot(w.row(r), tokens[size_t(t)], w.cols);
    });
}

}  // namespace

void matmul(const WeightMatrix& w, const float* x, int64_t n, float* y, ThreadPool& pool) {
    if (n <= kGemvMaxTokens) {
        if (const QuantizedDot kernel = quantized_dot(w.dtype->type); kernel.row_dot) {
            gemv_quantized(w, kernel, x, n, y, pool);
            return;
        }
        pool.parallel_for(w.rows, 64, [&](int64_t begin, int64_t end) {
            for (int64_t r = begin; r < end; ++r)
                for (int64_t t = 0; t < n; ++t)
                    y[t * w.rows + r] = dot_float_row(w, r, x + t * w.cols);
        });
        return;
    }
    const int64_t panels = (w.rows + kPanelRows - 1) / kPanelRows;
    pool.parallel_for(panels, 1, [&](int64_t begin, int64_t end) {
        std::vector<float> panel(size_t(w.cols * kPanelRows));
        std::vector<float> row_buffer(size_t(w.cols));
        for (int64_t p = begin; p < end; ++p) {
            const int64_t r0 = p * kPanelRows;
            fill_panel(w, r0, panel.data(), row_buffer.data());
            panel_times_tokens(panel.data(), x, n, w.cols, y, w.rows, r0,
                               std::min(kPanelRows, w.rows - r0));
        }
    });
}

}  // namespace selfextend::cpu
