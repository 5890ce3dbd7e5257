// Rotary position embedding in the GGUF "llama" layout: dimension pairs (2k, 2k+1) of each head
// rotate by position * base^(-2k/d) (position divided by the linear scaling factor). The angles
// are tabulated once per session in double precision, so long positions stay exact; the CPU
// backend rotates with the table and the CUDA backend uploads it.
//
// Half-split (NEOX) models rotate the pairs (k, k + d/2) instead. Their q and k are first
// permuted by interleave_halves so that pair k sits at (2k, 2k+1): a dot product is unchanged
// when both sides are permuted alike, so the cache, the attention kernels and their re-rotation
// of grouped keys keep one layout for every model.
#pragma once

#include <cstdint>
#include <vector>

#include "model/hyper_params.h"
#include "selfextend/attention_mode.h"

namespace selfextend {

class RopeTable {
  public:
    RopeTable(const RopeFrequencies& frequencies, int64_t positions);
    // The model's global frequencies.
    RopeTable(const HyperParams& hp, int64_t positions) : RopeTable(hp.global_rope(), positions) {}

    // Positions a session of `capacity` tokens rotates to: grouped query positions run ahead of
    // the token's own for i < W (those scores are never used, but the rotation is done).
    static int64_t positions_for(int64_t capacity, const AttentionMode& mode);

    // Rotates the first rope_dimensions of each of n_heads heads (head_dim apart) to `position`.
    void rotate(float* heads, int n_heads, int head_dim, int64_t position) const;

    // Moves each head's rotary pairs from the half-split layout (x[k], x[k + dims/2]) to adjacent
    // ones (x[2k], x[2k+1]), for the first `rope_dimensions` values of each of n_heads heads.
    static void interleave_halves(float* heads, int n_heads, int head_dim, int rope_dimensions);

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
