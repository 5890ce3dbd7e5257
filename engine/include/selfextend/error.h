// The engine's error types. Every failure the engine can foresee (bad files, bad arguments,
// out of memory, a missing device) is reported as one of these, never as an abort.
#pragma once

#include <stdexcept>
#include <string>

namespace selfextend {

class Error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Raised by long operations (prefill, generate, evaluation) when their CancelToken fires.
class Cancelled : public Error {
  public:
    Cancelled() : Error("cancelled") {}
};

// Raised when host or device memory cannot be had; the caller may retry smaller or on the CPU.
class OutOfMemory : public Error {
  public:
    using Error::Error;
};

}  // namespace selfextend
