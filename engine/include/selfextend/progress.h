// Progress of long work (prefill, evaluation), reported through a callback.
#pragma once

#include <cstdint>
#include <functional>

namespace selfextend {

struct Progress {
    int64_t done = 0;              // tokens (or items) finished
    int64_t total = 0;             // tokens (or items) in all
    double tokens_per_second = 0;  // rate so far
    double eta_seconds = 0;        // remaining time (prefills: cost growing with position)
    // The longest the rest may take as the latest work ran (prefills: chunks slower than
    // predicted on a busy machine); eta_seconds when there is nothing to widen it by.
    double eta_high_seconds = 0;
};

using ProgressCallback = std::function<void(const Progress&)>;

}  // namespace selfextend
