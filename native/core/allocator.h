// Per-device allocators. Host memory is 64-byte aligned so every SIMD load of a
// fresh buffer is aligned; CUDA memory comes from a caching allocator
// (native/cuda/cuda_allocator.cu) so training steps do not call cudaMalloc.
#pragma once
#include <cstddef>

#include "device.h"

namespace tg {

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* ptr, size_t bytes) = 0;
};

constexpr size_t kHostAlignment = 64;

Allocator& host_allocator();
// The allocator for `device`; throws ERR_TG_DEVICE for a CUDA device in a build without CUDA.
Allocator& allocator_for(const Device& device);

}  // namespace tg
