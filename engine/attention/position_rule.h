// THE Self-Extend position rule (docs/method.md, "Self-Extend"), written once for every backend.
//
// For query i and key j <= i:
//   neighbour pair (i - j < W): query at i, key at j                     (distance i - j)
//   grouped pair   (i - j >= W): query at i/G + W - W/G, key at j/G      (integer division)
// G = 1 gives the normal positions everywhere, so vanilla attention is the rule with G = 1.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define SE_HOST_DEVICE __host__ __device__
#else
#define SE_HOST_DEVICE
#endif

namespace selfextend::position_rule {

SE_HOST_DEVICE constexpr bool is_neighbour(int64_t query, int64_t key, int64_t window) {
    return query - key < window;
}

SE_HOST_DEVICE constexpr int64_t grouped_query_position(int64_t query, int64_t group,
                                                        int64_t window) {
    return query / group + window - window / group;
}

SE_HOST_DEVICE constexpr int64_t grouped_key_position(int64_t key, int64_t group) {
    return key / group;
}

// The RoPE distance the model sees between query i and key j.
SE_HOST_DEVICE constexpr int64_t relative_position(int64_t query, int64_t key, int64_t group,
                                                   int64_t window) {
    return is_neighbour(query, key, window)
               ? query - key
               : grouped_query_position(query, group, window) - grouped_key_position(key, group);
}

static_assert(relative_position(100, 90, 4, 16) == 10);  // inside the window
static_assert(relative_position(100, 0, 4, 16) == 25 + 16 - 4);
static_assert(relative_position(100, 0, 1, 16) == 100);  // G = 1 is vanilla
static_assert(grouped_key_position(10, 4) == 2 && grouped_key_position(3, 1) == 3);

}  // namespace selfextend::position_rule
