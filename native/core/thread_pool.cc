#include "thread_pool.h"

#include <cstdlib>
#include <exception>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TG_CPU_RELAX() _mm_pause()
#else
#define TG_CPU_RELAX() std::this_thread::yield()
#endif

namespace tg {

struct ThreadPool::Job {
  Job(int64_t n, const std::function<void(int64_t)>& fn) : n(n), fn(fn) {}
  const int64_t n;
  const std::function<void(int64_t)>& fn;  // lives on the submitting thread's stack until done
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> finished{0};
  std::mutex error_mu;
  std::exception_ptr error;
  std::mutex done_mu;
  std::condition_variable done_cv;
};

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_items(Job& job) {
  for (;;) {
    int64_t i = job.next.fetch_add(1, std::memory_order_relaxed);
    if (i >= job.n) return;
    try {
      job.fn(i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(job.error_mu);
      if (!job.error) job.error = std::current_exception();
    }
    if (job.finished.fetch_add(1, std::memory_order_acq_rel) + 1 == job.n) {
      std::lock_guard<std::mutex> lock(job.done_mu);
      job.done_cv.notify_all();
    }
  }
}

void ThreadPool::worker_loop() {
  uint64_t seen = 0;  // generation at which this worker last looked at the queue
  for (;;) {
    // Spin a little before sleeping: training steps issue many short loops back
    // to back, and waking a sleeping thread costs tens of microseconds.
    for (int spin = 0; spin < 20000 && generation_.load(std::memory_order_acquire) == seen; ++spin) {
      TG_CPU_RELAX();
    }
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_ && queue_.empty()) return;
      // Jobs are queued before the generation is bumped, so everything up to
      // this generation is visible in the queue now.
      seen = generation_.load(std::memory_order_acquire);
      job = queue_.front();
      // Drop jobs whose items are all claimed so later jobs are reached.
      if (job->next.load(std::memory_order_relaxed) >= job->n) {
        queue_.pop_front();
        continue;
      }
    }
    run_items(*job);
  }
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t)>& fn) {
  if (n <= 0) return;
  if (n == 1 || workers_.empty()) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
  auto job = std::make_shared<Job>(n, fn);
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(job);
  }
  generation_.fetch_add(1, std::memory_order_release);
  cv_.notify_all();
  run_items(*job);
  {
    std::unique_lock<std::mutex> lock(job->done_mu);
    job->done_cv.wait(lock, [&] { return job->finished.load(std::memory_order_acquire) == job->n; });
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (*it == job) {
        queue_.erase(it);
        break;
      }
    }
  }
  if (job->error) std::rethrow_exception(job->error);
}

int default_num_threads() {
  if (const char* env = std::getenv("TG_NUM_THREADS")) {
    char* end = nullptr;
    long v = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && v > 0 && v <= 1024) return static_cast<int>(v);
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

ThreadPool& thread_pool() {
  // Leaked on purpose: joining threads from a static destructor at process exit
  // races with Node's own teardown.
  static ThreadPool* pool = new ThreadPool(default_num_threads());
  return *pool;
}

}  // namespace tg
