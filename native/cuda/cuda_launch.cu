// Running queued work on a device: the checks after a batch of kernel
// launches, and timing with CUDA events. Op kernels only queue work; the
// executors decide when to wait for it, so failures are reported here with the
// name of what was running.
#include <cuda_runtime.h>

#include "cuda_backend.h"
#include "cuda_check.h"

namespace tg {

namespace {

// Owns one CUDA event; destroyed even when timing fails halfway.
class Event {
 public:
  Event() { cuda_check(cudaEventCreate(&event_), "cudaEventCreate"); }
  ~Event() {
    // Destroying an event cannot fail on a healthy context; on a broken one the
    // caller has already thrown the error that matters.
    if (cudaEventDestroy(event_) != cudaSuccess) cudaGetLastError();
  }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  cudaEvent_t get() const { return event_; }

 private:
  cudaEvent_t event_ = nullptr;
};

}  // namespace

void cuda_launch(int device, const std::string& what, const std::function<void()>& launch, bool wait) {
  CudaDeviceGuard guard(device);
  launch();
  cuda_check(cudaGetLastError(), what, " on cuda:", device);
  if (wait) cuda_check(cudaStreamSynchronize(0), what, " on cuda:", device);
}

double cuda_time_ms(int device, int reps, const std::function<void()>& launch) {
  TG_CHECK(reps > 0, "ERR_TG_ARG", "timing needs at least one repetition, got ", reps);
  CudaDeviceGuard guard(device);
  Event start, stop;
  cuda_check(cudaEventRecord(start.get(), 0), "cudaEventRecord on cuda:", device);
  for (int i = 0; i < reps; ++i) launch();
  cuda_check(cudaGetLastError(), "timed work on cuda:", device);
  cuda_check(cudaEventRecord(stop.get(), 0), "cudaEventRecord on cuda:", device);
  cuda_check(cudaEventSynchronize(stop.get()), "timed work on cuda:", device);
  float ms = 0.0f;
  cuda_check(cudaEventElapsedTime(&ms, start.get(), stop.get()), "cudaEventElapsedTime on cuda:", device);
  return static_cast<double>(ms) / reps;
}

}  // namespace tg
