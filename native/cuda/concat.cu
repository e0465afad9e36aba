// concat and slice on CUDA, as torch.cat and Python slicing along one axis
// (step > 0), with slice_backward, which writes dy into zeros shaped like the
// sliced input: the CUDA side of cpu/concat.cc. They copy elements by size,
// so any dtype works.
#include <cuda_runtime.h>

#include <limits>

#include "../cpu/kernel_util.h"
#include "cuda_kernels.cuh"

namespace tg {

namespace {

int64_t prod(const Shape& s, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t d = begin; d < end; ++d) n *= s[d];
  return n;
}

// x: (rows, seg) -> the columns [offset, offset + seg) of y: (rows, width)
template <typename Q, typename T>
__global__ void concat_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t total, int64_t seg, int64_t width,
                              int64_t offset) {
  for (int64_t i = thread_index(); i < total; i += thread_count()) {
    const Q r = static_cast<Q>(i) / static_cast<Q>(seg);
    y[static_cast<int64_t>(r) * width + offset + (i - static_cast<int64_t>(r) * seg)] = x[i];
  }
}

// x0, x1, ...: equal shapes except along axis; y: them joined along axis. Each
// output row (the dims before axis) is the inputs' rows laid end to end.
void cuda_concat_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                         const RunContext&) {
  const Tensor& y = out[0];
  if (y.numel() == 0) return;
  const size_t axis = static_cast<size_t>(normalize_axis(attrs.get_int("axis", 0), y.dim(), "attribute 'axis'"));
  const int64_t width = prod(y.shape(), axis, y.shape().size());
  int64_t offset = 0;
  for (const Tensor& x : in) {
    const int64_t seg = prod(x.shape(), axis, x.shape().size());
    const int64_t total = x.numel();
    if (total > 0) {
      with_element_type(x.dtype(), [&](auto element) {
        using T = decltype(element);
        if (fits_32(y.numel())) {
          concat_kernel<uint32_t><<<grid_for(total), kBlock>>>(static_cast<const T*>(x.raw()),
                                                               static_cast<T*>(y.raw()), total, seg, width, offset);
        } else {
          concat_kernel<uint64_t><<<grid_for(total), kBlock>>>(static_cast<const T*>(x.raw()),
                                                               static_cast<T*>(y.raw()), total, seg, width, offset);
        }
      });
      check_launch("concat_kernel");
    }
    offset += seg;
  }
}

// x viewed as (outer, n, inner) around axis; the slice keeps len positions
// start, start + step, ... of the middle dim.
struct SliceLayout {
  int64_t outer, n, inner, start, step, len;
};

// Python's slice.indices for step > 0: negative bounds count from the end,
// then both are clamped to [0, n].
SliceLayout slice_layout(const Shape& shape, const Attrs& attrs) {
  const int64_t axis = normalize_axis(attrs.get_int("axis", 0), static_cast<int64_t>(shape.size()), "attribute 'axis'");
  const size_t ax = static_cast<size_t>(axis);
  SliceLayout s{};
  s.outer = prod(shape, 0, ax);
  s.n = shape[ax];
  s.inner = prod(shape, ax + 1, shape.size());
  s.step = attrs.get_int("step", 1);
  auto clamp = [&](int64_t v) {
    if (v < 0) v += s.n;
    return std::min(std::max<int64_t>(v, 0), s.n);
  };
  s.start = clamp(attrs.get_int("start", 0));
  const int64_t end = clamp(attrs.get_int("end", std::numeric_limits<int64_t>::max()));
  s.len = end > s.start ? (end - s.start + s.step - 1) / s.step : 0;
  return s;
}

// Offset in the full (outer, n, inner) tensor of element i of its slice (outer, len, inner).
template <typename Q>
__device__ __forceinline__ int64_t full_offset(int64_t i, const SliceLayout& s) {
  const Q inner = static_cast<Q>(s.inner), len = static_cast<Q>(s.len);
  const Q j = static_cast<Q>(i) % inner, rest = static_cast<Q>(i) / inner;
  const Q l = rest % len, o = rest / len;
  return (static_cast<int64_t>(o) * s.n + s.start + static_cast<int64_t>(l) * s.step) * s.inner +
         static_cast<int64_t>(j);
}

// full: (outer, n, inner); part: (outer, len, inner) with `total` elements
template <typename Q, typename T>
__global__ void slice_kernel(const T* __restrict__ full, T* __restrict__ part, int64_t total, SliceLayout s) {
  for (int64_t i = thread_index(); i < total; i += thread_count()) part[i] = full[full_offset<Q>(i, s)];
}

// The reverse copy; each full position is written at most once.
template <typename Q, typename T>
__global__ void unslice_kernel(const T* __restrict__ part, T* __restrict__ full, int64_t total, SliceLayout s) {
  for (int64_t i = thread_index(); i < total; i += thread_count()) full[full_offset<Q>(i, s)] = part[i];
}

// x: (outer, n, inner) -> y: (outer, len, inner)
void cuda_slice_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                        const RunContext&) {
  const SliceLayout s = slice_layout(in[0].shape(), attrs);
  const int64_t total = out[0].numel();
  if (total == 0) return;
  with_element_type(in[0].dtype(), [&](auto element) {
    using T = decltype(element);
    if (fits_32(in[0].numel())) {
      slice_kernel<uint32_t><<<grid_for(total), kBlock>>>(static_cast<const T*>(in[0].raw()),
                                                          static_cast<T*>(out[0].raw()), total, s);
    } else {
      slice_kernel<uint64_t><<<grid_for(total), kBlock>>>(static_cast<const T*>(in[0].raw()),
                                                          static_cast<T*>(out[0].raw()), total, s);
    }
  });
  check_launch("slice_kernel");
}

// dy: (outer, len, inner) -> dx: (outer, n, inner), zero off the slice
void cuda_slice_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                         const RunContext&) {
  const Tensor& dx = out[0];
  if (dx.nbytes() == 0) return;
  cuda_check(cudaMemsetAsync(dx.raw(), 0, dx.nbytes(), 0), "clearing slice_backward's output");
  const SliceLayout s = slice_layout(dx.shape(), attrs);
  const int64_t total = in[0].numel();
  if (total == 0) return;
  with_element_type(dx.dtype(), [&](auto element) {
    using T = decltype(element);
    if (fits_32(dx.numel())) {
      unslice_kernel<uint32_t><<<grid_for(total), kBlock>>>(static_cast<const T*>(in[0].raw()),
                                                            static_cast<T*>(dx.raw()), total, s);
    } else {
      unslice_kernel<uint64_t><<<grid_for(total), kBlock>>>(static_cast<const T*>(in[0].raw()),
                                                            static_cast<T*>(dx.raw()), total, s);
    }
  });
  check_launch("unslice_kernel");
}

}  // namespace

TG_REGISTER_CUDA_KERNEL("concat", cuda_concat_forward);
TG_REGISTER_CUDA_KERNEL("slice", cuda_slice_forward);
TG_REGISTER_CUDA_KERNEL("slice_backward", cuda_slice_backward);

}  // namespace tg
