// Rotary position embedding in the GGUF "llama" layout: dimension pairs (2k, 2k+1) of each head
// rotate by position * base^(-2k/d). Angles come from a table built once per session, in double
// precision, so that long positions stay exact.
#pragma once

#include <cstdint>
#include <vector>

#include "model/hyper_params.h"

namespace selfextend::cpu {

class RopeTable {
public:
    RopeTable(const HyperParams& hp, int64_t positions);

    // Rotates the first rope_dimensions of each of n_heads heads (head_dim apart) to `position`.
    void rotate(float* heads, int n_heads, int head_dim, int64_t position) const;
    int64_t positions() const { return positions_; }

private:
    int pairs_;
    int64_t positions_;
    std::vector<float> cos_;  // [position][pair]
    std::vector<float> sin_;
};

}  // namespace selfextend::cpu
