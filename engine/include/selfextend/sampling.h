// Sampling parameters for generation. temperature <= 0 means greedy (argmax).
#pragma once

#include <cstdint>

namespace selfextend {

struct SamplingParams {
    float temperature = 0.0f;
    int top_k = 40;               // 0: off
    float top_p = 1.0f;           // 1: off
    float min_p = 0.0f;           // 0: off
    // Divides a positive logit (multiplies a negative one) of each token among the answer's last
    // repeat_last_n; 1: off. Only the answer's own tokens count (those generated since the last
    // prompt, a continued answer's first part included), never the prompt's: an answer must be
    // free to quote the question and the document.
    float repeat_penalty = 1.0f;
    int repeat_last_n = 64;
    uint64_t seed = 0;
};

}  // namespace selfextend
