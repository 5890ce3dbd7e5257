// How long the rest of a prefill will take. Dividing the tokens left by the rate so far is wrong
// for long prompts: every token attends to all the keys before it, so a token at position p costs
// about a + b·p (a: the matrix products, the same for every token; b: attending to one key), and
// the late chunks are the slow ones. The two constants are fitted by least squares to the chunks
// timed so far, and the estimate sums a + b·p over the positions still to come.
//
// A machine that gets busier during the prefill makes the latest chunks slower than the fit of
// them all says: the range widens by how far the latest chunks ran over (or under) what the fit
// predicted for them, so a user sees "1 min 22 s – 1 min 56 s" rather than one optimistic time.
#pragma once

#include <array>
#include <cstdint>
#include <utility>

namespace selfextend {

class PrefillEta {
  public:
    // A chunk of positions [first, end) took `seconds`.
    void record(int64_t first, int64_t end, double seconds);

    // Seconds the positions [first, end) will take; 0 before anything was recorded.
    double remaining_seconds(int64_t first, int64_t end) const;
    // The same, as a range: the estimate scaled by the smallest and largest ratio of a recent
    // chunk's time to the time the fit predicted for it before it ran (1 when they agree).
    std::pair<double, double> remaining_range(int64_t first, int64_t end) const;

    // The fitted per-token cost a and per-key cost b (seconds), for tests and diagnostics.
    double per_token_seconds() const;
    double per_key_seconds() const;

  private:
    void fit(double& a, double& b) const;

    // Sums for the normal equations of seconds ≈ a·count + b·(sum of positions).
    double count_count_ = 0, count_positions_ = 0, positions_positions_ = 0;
    double count_seconds_ = 0, positions_seconds_ = 0;
    int chunks_ = 0;
    // Time taken over time predicted, for the latest chunks (a ring).
    static constexpr int kRecentChunks = 8;
    std::array<double, kRecentChunks> recent_ratios_{};
    int ratios_ = 0;  // how many were recorded in all
};

}  // namespace selfextend
