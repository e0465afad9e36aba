// Caching device allocator, one per device. cudaMalloc costs far more than a
// kernel launch and cudaFree synchronizes the device, so freed blocks are kept in
// a pool keyed by size and handed out again. No stream bookkeeping is needed: all
// work goes to the default stream, which runs in order, so a block freed while a
// kernel still reads it is only reused by work queued after that kernel.
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "../core/error.h"
#include "cuda_backend.h"
#include "cuda_check.h"

namespace tg {

namespace {

constexpr size_t kSmallGranularity = 512;
constexpr size_t kLargeGranularity = size_t{2} << 20;
constexpr size_t kSmallLimit = size_t{1} << 20;  // above this, sizes round to 2 MiB

class CudaCachingAllocator final : public Allocator {
 public:
  explicit CudaCachingAllocator(int device) : device_(device) {}

  void* allocate(size_t bytes) override {
    if (bytes == 0) return nullptr;
    size_t size = round_size(bytes);
    std::lock_guard<std::mutex> lock(mutex_);
    // Accept a cached block up to twice the request: smaller waste is cheaper
    // than a cudaMalloc, larger would pin big blocks under small tensors.
    auto it = free_.lower_bound(size);
    if (it != free_.end() && it->first <= 2 * size) {
      size_t block = it->first;
      void* ptr = it->second;
      free_.erase(it);
      cached_bytes_ -= block;
      return track(ptr, block);
    }
    return track(malloc_or_throw(bytes, size), size);
  }

  void deallocate(void* ptr, size_t bytes) override {
    if (ptr == nullptr) return;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = in_use_.find(ptr);
    if (it == in_use_.end()) {
      // Called from Buffer's destructor, where throwing would terminate the
      // process: report and leak rather than file the block under a wrong size.
      std::fprintf(stderr, "tensorgraft: cuda:%d: freeing %zu bytes at a pointer this allocator did not hand out\n",
                   device_, bytes);
      return;
    }
    size_t block = it->second;  // the block's real size, not the caller's `bytes`
    in_use_.erase(it);
    used_bytes_ -= block;
    free_.emplace(block, ptr);
    cached_bytes_ += block;
  }

 private:
  static size_t round_size(size_t bytes) {
    size_t g = bytes <= kSmallLimit ? kSmallGranularity : kLargeGranularity;
    TG_CHECK(bytes <= SIZE_MAX - g, "ERR_TG_OOM", "cannot allocate ", bytes, " bytes on a CUDA device");
    return (bytes + g - 1) / g * g;
  }

  void* track(void* ptr, size_t block) {
    in_use_.emplace(ptr, block);
    used_bytes_ += block;
    return ptr;
  }

  // Called with mutex_ held.
  void* malloc_or_throw(size_t bytes, size_t size) {
    CudaDeviceGuard guard(device_);
    const size_t cached_before = cached_bytes_;
    void* ptr = nullptr;
    cudaError_t err = cudaMalloc(&ptr, size);
    if (err == cudaErrorMemoryAllocation) {
      // The OOM is not sticky; clear it so it does not surface at the next launch check.
      cudaGetLastError();
      release_cached();
      err = cudaMalloc(&ptr, size);
    }
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      fail("ERR_TG_OOM", "out of memory on cuda:", device_, " allocating ", bytes, " bytes (", size,
           " after rounding): ", used_bytes_, " bytes in use, ", cached_before,
           " cached bytes released before the retry");
    }
    cuda_check(err, "cudaMalloc(", size, ") on cuda:", device_);
    return ptr;
  }

  // Called with mutex_ held and the device current.
  void release_cached() {
    // Each block leaves the pool before its cudaFree, so a throwing cudaFree
    // never leaves a freed pointer behind to be handed out or freed twice.
    while (!free_.empty()) {
      auto it = free_.begin();
      void* ptr = it->second;
      cached_bytes_ -= it->first;
      free_.erase(it);
      cuda_check(cudaFree(ptr), "cudaFree of a cached block on cuda:", device_);
    }
  }

  const int device_;
  std::mutex mutex_;
  std::multimap<size_t, void*> free_;           // rounded size -> cached block
  std::unordered_map<void*, size_t> in_use_;    // block -> its rounded size
  size_t used_bytes_ = 0;
  size_t cached_bytes_ = 0;
};

}  // namespace

Allocator& cuda_allocator(int device) {
  // Deliberately leaked: tensors held by JS may be freed by static destructors
  // or finalizers after this table would be destroyed, and calling cudaFree
  // during process exit races with the runtime's own teardown (the driver frees
  // device memory when the process ends anyway).
  static std::mutex& mutex = *new std::mutex;
  static std::vector<CudaCachingAllocator*>& allocators = *new std::vector<CudaCachingAllocator*>;
  std::lock_guard<std::mutex> lock(mutex);
  if (device >= 0 && static_cast<size_t>(device) < allocators.size() && allocators[device] != nullptr) {
    return *allocators[device];
  }
  std::string why;
  int count = cuda_device_count(&why);
  if (device < 0 || device >= count) {
    fail("ERR_TG_DEVICE", "cuda:", device, " does not exist: ", count, " CUDA device(s) visible",
         why.empty() ? "" : " (" + why + ")");
  }
  if (allocators.size() < static_cast<size_t>(count)) allocators.resize(count, nullptr);
  allocators[device] = new CudaCachingAllocator(device);
  return *allocators[device];
}

}  // namespace tg
