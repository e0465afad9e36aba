// A dense, contiguous, row-major tensor: a shared buffer plus dtype and shape.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "buffer.h"
#include "dtype.h"

namespace tg {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& shape);
std::string shape_str(const Shape& shape);  // "(2, 3, 4)"

class Tensor {
 public:
  Tensor() = default;
  Tensor(std::shared_ptr<Buffer> buffer, DType dtype, Shape shape);
  // A fresh tensor from the device's allocator (contents undefined).
  static Tensor empty(const Shape& shape, DType dtype, const Device& device);

  bool defined() const { return buffer_ != nullptr; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t dim() const { return static_cast<int64_t>(shape_.size()); }
  int64_t size(int64_t axis) const;  // negative axes count from the end
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }
  const Device& device() const { return buffer_->device(); }
  const std::shared_ptr<Buffer>& buffer() const { return buffer_; }

  void* raw() const { return buffer_->data(); }
  template <typename T>
  T* data() const { return static_cast<T*>(buffer_->data()); }

 private:
  std::shared_ptr<Buffer> buffer_;
  DType dtype_ = DType::f32;
  Shape shape_;
  int64_t numel_ = 0;
};

}  // namespace tg
