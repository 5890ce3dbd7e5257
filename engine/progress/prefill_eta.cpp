#include "progress/prefill_eta.h"

#include <algorithm>

namespace selfextend {
namespace {

// Sum of the positions first, first + 1, …, end - 1.
double position_sum(int64_t first, int64_t end) {
    return 0.5 * double(first + end - 1) * double(end - first);
}

}  // namespace

void PrefillEta::record(int64_t first, int64_t end, double seconds) {
    if (end <= first || seconds < 0) return;
    // How this chunk compares with what the chunks before it predicted (the first two only fit).
    if (chunks_ >= 2) {
        const double predicted = remaining_seconds(first, end);
        if (predicted > 0) recent_ratios_[size_t(ratios_++ % kRecentChunks)] = seconds / predicted;
    }
    ++chunks_;
    const double count = double(end - first);
    const double positions = position_sum(first, end);
    count_count_ += count * count;
    count_positions_ += count * positions;
    positions_positions_ += positions * positions;
    count_seconds_ += count * seconds;
    positions_seconds_ += positions * seconds;
}

void PrefillEta::fit(double& a, double& b) const {
    a = b = 0;
    if (count_count_ <= 0) return;
    // Both constants need chunks at different positions; until then (or when the fit says a cost
    // is negative, which timing noise can do) one constant explains the time alone.
    const double det = count_count_ * positions_positions_ - count_positions_ * count_positions_;
    if (det > 1e-9 * count_count_ * positions_positions_) {
        a = (count_seconds_ * positions_positions_ - positions_seconds_ * count_positions_) / det;
        b = (positions_seconds_ * count_count_ - count_seconds_ * count_positions_) / det;
        if (a >= 0 && b >= 0) return;
        if (a < 0 && positions_positions_ > 0) {
            a = 0;
            b = positions_seconds_ / positions_positions_;
            return;
        }
    }
    a = count_seconds_ / count_count_;
    b = 0;
}

double PrefillEta::remaining_seconds(int64_t first, int64_t end) const {
    if (end <= first) return 0;
    double a = 0, b = 0;
    fit(a, b);
    return a * double(end - first) + b * position_sum(first, end);
}

std::pair<double, double> PrefillEta::remaining_range(int64_t first, int64_t end) const {
    const double estimate = remaining_seconds(first, end);
    double low = 1, high = 1;
    for (int k = 0; k < std::min(ratios_, kRecentChunks); ++k) {
        low = std::min(low, recent_ratios_[size_t(k)]);
        high = std::max(high, recent_ratios_[size_t(k)]);
    }
    return {estimate * low, estimate * high};
}

double PrefillEta::per_token_seconds() const {
    double a = 0, b = 0;
    fit(a, b);
    return a;
}

double PrefillEta::per_key_seconds() const {
    double a = 0, b = 0;
    fit(a, b);
    return b;
}

}  // namespace selfextend
