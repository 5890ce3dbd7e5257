// A cancel flag shared between the thread that runs a long operation and the one that stops it.
#pragma once

#include <atomic>
#include <memory>

namespace selfextend {

class CancelToken {
  public:
    CancelToken() : flag_(std::make_shared<std::atomic<bool>>(false)) {}

    void cancel() const { flag_->store(true, std::memory_order_relaxed); }
    void reset() const { flag_->store(false, std::memory_order_relaxed); }
    bool cancelled() const { return flag_->load(std::memory_order_relaxed); }

  private:
    std::shared_ptr<std::atomic<bool>> flag_;  // copies of a token share one flag
};

}  // namespace selfextend
