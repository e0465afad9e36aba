// A reference-counted block of device memory. Tensors share buffers through
// std::shared_ptr; a buffer either owns its memory (returned to its allocator)
// or borrows it (a JS TypedArray kept alive by the binding while native code runs).
#pragma once
#include <cstddef>
#include <memory>

#include "allocator.h"
#include "device.h"

namespace tg {

class Buffer {
 public:
  // Owning: memory from the device's allocator.
  static std::shared_ptr<Buffer> allocate(size_t bytes, const Device& device);
  // Borrowing: the caller guarantees `ptr` outlives the buffer.
  static std::shared_ptr<Buffer> borrow(void* ptr, size_t bytes, const Device& device);

  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* data() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  const Device& device() const { return device_; }
  bool owned() const { return allocator_ != nullptr; }

 private:
  Buffer(void* ptr, size_t bytes, Device device, Allocator* allocator)
      : ptr_(ptr), bytes_(bytes), device_(device), allocator_(allocator) {}
  void* ptr_;
  size_t bytes_;
  Device device_;
  Allocator* allocator_;  // null when borrowed
};

}  // namespace tg
