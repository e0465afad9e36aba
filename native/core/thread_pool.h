// A fixed pool of worker threads for data-parallel loops. The calling thread
// takes part in its own loop, so nested or concurrent parallel_for calls from
// several libuv workers never deadlock. Size: hardware threads, or TG_NUM_THREADS.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace tg {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Total threads that run a loop: the workers plus the caller.
  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn(i) for i in [0, n), spread over the pool; returns when all are done.
  // The first exception thrown by any fn(i) is rethrown here.
  void parallel_for(int64_t n, const std::function<void(int64_t)>& fn);

 private:
  struct Job;
  void worker_loop();
  static void run_items(Job& job);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::atomic<uint64_t> generation_{0};  // bumped on every submit; spinning workers watch it
  bool stop_ = false;
};

// The process-wide pool.
ThreadPool& thread_pool();
// Threads the pool was sized to: TG_NUM_THREADS when set to a positive integer, else hardware.
int default_num_threads();

}  // namespace tg
