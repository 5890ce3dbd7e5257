// Sampling parameters for generation. temperature <= 0 means greedy (argmax).
#pragma once

#include <cstdint>

namespace selfextend {

struct SamplingParams {
    float temperature = 0.0f;
    int top_k = 40;               // 0: off
    float top_p = 1.0f;           // 1: off
    float min_p = 0.0f;           // 0: off
    float repeat_penalty = 1.0f;  // 1: off
    int repeat_last_n = 64;
    uint64_t seed = 0;
};

}  // namespace selfextend
