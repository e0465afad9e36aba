#include "tensor.h"

#include <limits>

#include "error.h"

namespace tg {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    TG_CHECK(d >= 0, "ERR_TG_SHAPE", "shape ", shape_str(shape), " has a negative dimension");
    TG_CHECK(d == 0 || n <= std::numeric_limits<int64_t>::max() / d, "ERR_TG_SHAPE", "shape ", shape_str(shape),
             " has too many elements");
    n *= d;
  }
  return n;
}

std::string shape_str(const Shape& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

Tensor::Tensor(std::shared_ptr<Buffer> buffer, DType dtype, Shape shape)
    : buffer_(std::move(buffer)), dtype_(dtype), shape_(std::move(shape)), numel_(shape_numel(shape_)) {
  TG_CHECK(buffer_ != nullptr, "ERR_TG_INTERNAL", "tensor created without a buffer");
  TG_CHECK(buffer_->bytes() >= nbytes(), "ERR_TG_SHAPE", "buffer of ", buffer_->bytes(), " bytes is too small for ",
           dtype_name(dtype_), " tensor of shape ", shape_str(shape_));
}

Tensor Tensor::empty(const Shape& shape, DType dtype, const Device& device) {
  int64_t n = shape_numel(shape);
  return Tensor(Buffer::allocate(static_cast<size_t>(n) * dtype_size(dtype), device), dtype, shape);
}

int64_t Tensor::size(int64_t axis) const {
  int64_t d = dim();
  int64_t a = axis < 0 ? axis + d : axis;
  TG_CHECK(a >= 0 && a < d, "ERR_TG_SHAPE", "axis ", axis, " is out of range for shape ", shape_str(shape_));
  return shape_[static_cast<size_t>(a)];
}

}  // namespace tg
