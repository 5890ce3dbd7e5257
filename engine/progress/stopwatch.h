// Seconds since a moment, on the steady clock: how the engine times its prefills and answers.
#pragma once

#include <chrono>

namespace selfextend {

class Stopwatch {
  public:
    Stopwatch() : start_(Clock::now()) {}
    double seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

  private:
    using Clock = std::chrono::steady_clock;
    Clock::time_point start_;
};

}  // namespace selfextend
