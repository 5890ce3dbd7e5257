#include "backend/cpu/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <utility>

namespace selfextend::cpu {

namespace {
constexpr int kSpinIterations = 4000;  // ~ tens of microseconds before a thread stops spinning

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}
}  // namespace

ThreadPool::ThreadPool(int threads) {
    if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
    for (int t = 1; t < threads; ++t) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
    {
        const std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& worker : workers_) worker.join();
}

void ThreadPool::run_pieces() {
    for (;;) {
        const int64_t begin = next_.fetch_add(grain_, std::memory_order_relaxed);
        if (begin >= count_) return;
        try {
            (*body_)(begin, std::min(begin + grain_, count_));
        } catch (...) {
            // Keep the first error for the caller and hand out no more pieces.
            const std::lock_guard lock(error_mutex_);
            if (!error_) error_ = std::current_exception();
            next_.store(count_, std::memory_order_relaxed);
        }
    }
}

void ThreadPool::worker_loop() {
    uint64_t seen = 0;
    for (;;) {
        int spins = 0;
        while (generation_.load(std::memory_order_acquire) == seen &&
               !stop_.load(std::memory_order_relaxed)) {
            if (++spins < kSpinIterations) {
                cpu_relax();
                continue;
            }
            std::unique_lock lock(mutex_);
            wake_.wait(
                lock, [&] { return generation_.load(std::memory_order_acquire) != seen || stop_; });
        }
        if (stop_) return;
        seen = generation_.load(std::memory_order_acquire);
        run_pieces();
        busy_.fetch_sub(1, std::memory_order_acq_rel);
    }
}

void ThreadPool::parallel_for(int64_t count, int64_t grain,
                              const std::function<void(int64_t, int64_t)>& body) {
    if (count <= 0) return;
    grain = std::max<int64_t>(1, grain);
    if (workers_.empty() || count <= grain) {
        body(0, count);
        return;
    }
    const std::lock_guard caller(caller_mutex_);
    count_ = count;
    grain_ = grain;
    body_ = &body;
    next_.store(0, std::memory_order_relaxed);
    busy_.store(int(workers_.size()), std::memory_order_relaxed);
    {
        const std::lock_guard lock(mutex_);
        generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    run_pieces();
    // Wait for pieces still running on workers. Spin briefly, then yield: when the machine is
    // oversubscribed a worker may be descheduled, and pure spinning would starve it.
    for (int spins = 0; busy_.load(std::memory_order_acquire) != 0; ++spins) {
        if (spins < kSpinIterations) {
            cpu_relax();
        } else {
            std::this_thread::yield();
        }
    }
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

}  // namespace selfextend::cpu
