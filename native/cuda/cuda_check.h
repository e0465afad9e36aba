// Internal helpers of the CUDA backend: turning runtime errors into tg::Error and
// scoping the current device. Not part of the backend's public interface.
#pragma once
#include <cuda_runtime.h>

#include "../core/error.h"

namespace tg {

// Throws ERR_TG_OOM for cudaErrorMemoryAllocation, so JS can tell running out of
// device memory from a failure, and ERR_TG_CUDA otherwise; the `what` parts name
// the failed operation.
template <typename... What>
void cuda_check(cudaError_t err, const What&... what) {
  if (err == cudaSuccess) return;
  // A failed call also records its error as the thread's "last error"; clear it
  // so a later cudaGetLastError after a kernel launch does not report it again.
  // Sticky errors (a faulted context) stay, which is what every later call should see.
  cudaGetLastError();
  fail(err == cudaErrorMemoryAllocation ? "ERR_TG_OOM" : "ERR_TG_CUDA", what..., ": ", cudaGetErrorString(err),
       " (", cudaGetErrorName(err), ")");
}

// Makes `device` current for this host thread for the guard's lifetime, so a
// call on cuda:1 does not change the device the caller had selected.
class CudaDeviceGuard {
 public:
  explicit CudaDeviceGuard(int device) {
    cuda_check(cudaGetDevice(&previous_), "cudaGetDevice");
    if (previous_ != device) cuda_check(cudaSetDevice(device), "cudaSetDevice(", device, ")");
    current_ = device;
  }
  ~CudaDeviceGuard() {
    // A destructor must not throw; restoring can only fail if the context is
    // already broken, and the caller's next CUDA call reports that anyway.
    if (previous_ != current_ && cudaSetDevice(previous_) != cudaSuccess) cudaGetLastError();
  }
  CudaDeviceGuard(const CudaDeviceGuard&) = delete;
  CudaDeviceGuard& operator=(const CudaDeviceGuard&) = delete;

 private:
  int previous_ = 0;
  int current_ = 0;
};

}  // namespace tg
