// Rotary position embedding in the GGUF "llama" layout: dimension pairs (2k, 2k+1) of each head
// rotate by position * base^(-2k/d) (position divided by the linear scaling factor). The angles
// are tabulated once per session in double precision, so long positions stay exact; the CPU
// backend rotates with the table and the CUDA backend uploads it.
#pragma once

#include <cstdint>
#include <vector>

#include "model/hyper_params.h"
#include "selfextend/attention_mode.h"

namespace selfextend {

class RopeTable {
  public:
    RopeTable(const HyperParams& hp, int64_t positions);

    // Positions a session of `capacity` tokens rotates to: grouped query positions run ahead of
    // the token's own for i < W (those scores are never used, but the rotation is done).
    static int64_t positions_for(int64_t capacity, const AttentionMode& mode);

    // Rotates the first rope_dimensions of each of n_heads heads (head_dim apart) to `position`.
    void rotate(float* heads, int n_heads, int head_dim, int64_t position) const;

    int64_t positions() const { return positions_; }
    int pairs() const { return pairs_; }
    const std::vector<float>& cos_table() const { return cos_; }  // [position][pair]
    const std::vector<float>& sin_table() const { return sin_; }

  private:
    int pairs_;
    int64_t positions_;
    std::vector<float> cos_;
    std::vector<float> sin_;
};

}  // namespace selfextend
