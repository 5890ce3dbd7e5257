// Micro-kernels take their token count as a template parameter, so that their accumulators live
// in registers. for_token_blocks runs one over n tokens: blocks of B, then one call sized to the
// rest (fewer than B), instantiating the kernel for every count from 1 to B.
#pragma once

#include <cstdint>

namespace selfextend::cpu {

namespace detail {

template <int COUNT, typename Kernel>
void run_rest(int64_t rest, int64_t t, Kernel& kernel) {
    if constexpr (COUNT > 0) {
        if (rest == COUNT) {
            kernel.template operator()<COUNT>(t);
            return;
        }
        run_rest<COUNT - 1>(rest, t, kernel);
    }
}

}  // namespace detail

// kernel.template operator()<TOKENS>(t0) handles tokens [t0, t0 + TOKENS); a template lambda
// `[&]<int TOKENS>(int64_t t0) { ... }` is one.
template <int B, typename Kernel>
void for_token_blocks(int64_t n, Kernel&& kernel) {
    int64_t t = 0;
    for (; t + B <= n; t += B) kernel.template operator()<B>(t);
    detail::run_rest<B - 1>(n - t, t, kernel);
}

}  // namespace selfextend::cpu
