#include "backend/rope_table.h"

#include <algorithm>
#include <cmath>

#include "attention/position_rule.h"
#include "backend/host_memory.h"
#include "selfextend/error.h"

namespace selfextend {

RopeTable::RopeTable(const RopeFrequencies& frequencies, int64_t positions)
    : pairs_(frequencies.dimensions / 2), positions_(positions) {
    require_host_memory(uint64_t(positions) * uint64_t(pairs_) * 2 * sizeof(float),
                        "the RoPE table of " + std::to_string(positions) + " positions");
    cos_.resize(size_t(positions * pairs_));
    sin_.resize(size_t(positions * pairs_));
    std::vector<double> frequency(static_cast<size_t>(pairs_));
    for (int k = 0; k < pairs_; ++k)
        frequency[size_t(k)] =
            std::pow(double(frequencies.base), -2.0 * k / frequencies.dimensions);
    for (int64_t p = 0; p < positions; ++p) {
        const double scaled = double(p) / frequencies.scale;
        for (int k = 0; k < pairs_; ++k) {
            const double angle = scaled * frequency[size_t(k)];
            cos_[size_t(p * pairs_ + k)] = float(std::cos(angle));
            sin_[size_t(p * pairs_ + k)] = float(std::sin(angle));
        }
    }
}

int64_t RopeTable::positions_for(int64_t capacity, const AttentionMode& mode) {
    return std::max(capacity,
                    position_rule::grouped_query_position(capacity, mode.group, mode.window) + 1);
}

void RopeTable::interleave_halves(float* heads, int n_heads, int head_dim, int rope_dimensions) {
    constexpr int kMaxHeadDim = 1024;
    if (rope_dimensions > kMaxHeadDim) throw Error("RoPE: head dimension too large");
    const int half = rope_dimensions / 2;
    float first[kMaxHeadDim / 2], second[kMaxHeadDim / 2];
    for (int h = 0; h < n_heads; ++h) {
        float* x = heads + int64_t(h) * head_dim;
        std::copy_n(x, half, first);
        std::copy_n(x + half, half, second);
        for (int k = 0; k < half; ++k) {
            x[2 * k] = first[k];
            x[2 * k + 1] = second[k];
        }
    }
}

void RopeTable::rotate(float* heads, int n_heads, int head_dim, int64_t position) const {
    if (position < 0 || position >= positions_) throw Error("RoPE position out of range");
    const float* c = cos_.data() + position * pairs_;
    const float* s = sin_.data() + position * pairs_;
    for (int h = 0; h < n_heads; ++h) {
        float* x = heads + int64_t(h) * head_dim;
        for (int k = 0; k < pairs_; ++k) {
            const float x0 = x[2 * k], x1 = x[2 * k + 1];
            x[2 * k] = x0 * c[k] - x1 * s[k];
            x[2 * k + 1] = x0 * s[k] + x1 * c[k];
        }
    }
}

}  // namespace selfextend
