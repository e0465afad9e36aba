#include "buffer.h"

namespace tg {

std::shared_ptr<Buffer> Buffer::allocate(size_t bytes, const Device& device) {
  Allocator& alloc = allocator_for(device);
  void* p = alloc.allocate(bytes);
  return std::shared_ptr<Buffer>(new Buffer(p, bytes, device, &alloc));
}

std::shared_ptr<Buffer> Buffer::borrow(void* ptr, size_t bytes, const Device& device) {
  return std::shared_ptr<Buffer>(new Buffer(ptr, bytes, device, nullptr));
}

Buffer::~Buffer() {
  if (allocator_ != nullptr) allocator_->deallocate(ptr_, bytes_);
}

}  // namespace tg
