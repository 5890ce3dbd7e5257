// Picks the next token from logits: greedy, or temperature sampling filtered by top-k, top-p and
// min-p, with a repetition penalty on recent tokens. Deterministic for a given seed.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "selfextend/sampling.h"

namespace selfextend {

class Sampler {
  public:
    explicit Sampler(const SamplingParams& params);
    // history: the answer so far (the repetition penalty looks at the last repeat_last_n of it).
    int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

  private:
    SamplingParams params_;
    std::mt19937_64 rng_;
    std::vector<std::pair<float, int32_t>> candidates_;
};

}  // namespace selfextend
