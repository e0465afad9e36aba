// The CUDA backend as the rest of the addon sees it. Implemented in native/cuda/*.cu
// and compiled only when TG_WITH_CUDA is defined; callers guard with #ifdef TG_WITH_CUDA.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "../core/allocator.h"
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

}  // namespace tg
