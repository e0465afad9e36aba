// The CUDA backend as the rest of the addon sees it. Implemented in native/cuda/*.cu
// and compiled only when TG_WITH_CUDA is defined; callers guard with #ifdef TG_WITH_CUDA.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "../core/allocator.h"
#include "../core/dtype.h"
#include "../core/gemm_args.h"

namespace tg {

struct CudaDeviceInfo {
  int index = 0;
  std::string name;         // "NVIDIA H100 80GB HBM3"
  size_t total_memory = 0;  // bytes
  int cc_major = 0, cc_minor = 0;
  int multiprocessors = 0;
};

// Number of usable CUDA devices. Never throws: when the driver is missing or
// reports no device the count is 0 and `why` (if given) says what the runtime said.
int cuda_device_count(std::string* why = nullptr);
CudaDeviceInfo cuda_device_info(int index);
// CUDA runtime version the addon was built against, e.g. "13.0"; driver version or "" if none.
std::string cuda_runtime_version();
std::string cuda_driver_version();
// The architectures compiled in, e.g. {80, 90}: CMake's TG_CUDA_ARCHS, passed as TG_CUDA_ARCH_LIST.
std::vector<int> cuda_compiled_archs();

// Caching allocator per device: freed blocks go back to a pool keyed by rounded
// size; cudaMalloc is called only on a pool miss, and on OOM the pool is emptied
// and the allocation retried once before ERR_TG_OOM is thrown.
Allocator& cuda_allocator(int device);

// Synchronous copies (host pointers are ordinary pageable memory).
void cuda_copy_to_device(int device, void* dst, const void* src, size_t bytes);
void cuda_copy_to_host(int device, void* dst, const void* src, size_t bytes);

// Runs the GEMM on `device`; all pointers in `args` are device pointers on it.
// Returns after the kernel has completed; kernel errors throw ERR_TG_CUDA.
void cuda_sgemm(int device, const GemmArgs& args);

// Calls `launch`, which queues work on `device`'s default stream, with that
// device current; then checks that every launch succeeded and, when `wait` is
// set, that the queued work completed. A failure throws ERR_TG_CUDA (ERR_TG_OOM
// for memory) starting with `what`. Without `wait`, a fault inside a kernel
// surfaces at the next synchronizing call instead.
void cuda_launch(int device, const std::string& what, const std::function<void()>& launch, bool wait);

// Milliseconds one call of `launch` (queueing work on `device`) takes on the
// device, the mean of `reps` back-to-back calls timed with CUDA events.
double cuda_time_ms(int device, int reps, const std::function<void()>& launch);

// dst[i] = src[i] converted exactly as cpu_cast does (cpu/cast.h); src and dst
// are `n`-element arrays in `device` memory. Returns once the copy is done.
void cuda_cast(int device, const void* src, DType src_type, void* dst, DType dst_type, int64_t n);

}  // namespace tg
