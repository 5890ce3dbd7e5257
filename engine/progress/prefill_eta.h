// How long the rest of a prefill will take. Dividing the tokens left by the rate so far is wrong
// for long prompts: every token attends to all the keys before it, so a token at position p costs
// about a + b·p (a: the matrix products, the same for every token; b: attending to one key), and
// the late chunks are the slow ones. The two constants are fitted by least squares to the chunks
// timed so far, and the estimate sums a + b·p over the positions still to come.
#pragma once

#include <cstdint>

namespace selfextend {

class PrefillEta {
  public:
    // A chunk of positions [first, end) took `seconds`.
    void record(int64_t first, int64_t end, double seconds);

    // Seconds the positions [first, end) will take; 0 before anything was recorded.
    double remaining_seconds(int64_t first, int64_t end) const;

    // The fitted per-token cost a and per-key cost b (seconds), for tests and diagnostics.
    double per_token_seconds() const;
    double per_key_seconds() const;

  private:
    void fit(double& a, double& b) const;

    // Sums for the normal equations of seconds ≈ a·count + b·(sum of positions).
    double count_count_ = 0, count_positions_ = 0, positions_positions_ = 0;
    double count_seconds_ = 0, positions_seconds_ = 0;
};

}  // namespace selfextend
