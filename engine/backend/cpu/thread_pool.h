// A fixed set of worker threads that run one parallel loop at a time. The caller's thread works
// too. Workers spin briefly before sleeping, since decode issues thousands of tiny loops a second.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace selfextend::cpu {

class ThreadPool {
  public:
    explicit ThreadPool(int threads);  // threads <= 0: one per core
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return int(workers_.size()) + 1; }

    // Calls body(begin, end) over [0, count) split into pieces of at most `grain` items.
    // Returns when every piece is done; rethrows the first exception a piece threw. Callers on
    // different threads (sessions of one model) take turns; not reentrant from inside a body.
    void parallel_for(int64_t count, int64_t grain,
                      const std::function<void(int64_t, int64_t)>& body);

  private:
    void worker_loop();
    void run_pieces();

    std::vector<std::thread> workers_;
    std::mutex caller_mutex_;  // one parallel loop at a time
    std::mutex mutex_;
    std::mutex error_mutex_;
    std::exception_ptr error_;
    std::condition_variable wake_;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int> busy_{0};
    std::atomic<int64_t> next_{0};
    std::atomic<bool> stop_{false};
    int64_t count_ = 0;
    int64_t grain_ = 1;
    const std::function<void(int64_t, int64_t)>* body_ = nullptr;
};

}  // namespace selfextend::cpu
