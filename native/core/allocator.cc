#include "allocator.h"

#include <cstdlib>

#include "error.h"
#ifdef TG_WITH_CUDA
#include "../cuda/cuda_backend.h"
#endif

namespace tg {

namespace {

class HostAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes) override {
    // aligned_alloc needs a size that is a multiple of the alignment; zero-size
    // tensors still get a unique pointer so buffers never hold null.
    size_t rounded = (bytes + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
    if (rounded == 0) rounded = kHostAlignment;
    void* p = std::aligned_alloc(kHostAlignment, rounded);
    TG_CHECK(p != nullptr, "ERR_TG_OOM", "out of host memory allocating ", bytes, " bytes");
    return p;
  }
  void deallocate(void* ptr, size_t) override { std::free(ptr); }
};

}  // namespace

Allocator& host_allocator() {
  static HostAllocator instance;
  return instance;
}

Allocator& allocator_for(const Device& device) {
  if (device.type == DeviceType::cpu) return host_allocator();
#ifdef TG_WITH_CUDA
  return cuda_allocator(device.index);
#else
  fail("ERR_TG_DEVICE", "no allocator for ", device.str(), ": this build has no CUDA support");
#endif
}

}  // namespace tg
