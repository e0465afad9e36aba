// Indexing by integer tensors on CUDA, as torch.index_select, torch.gather and
// F.embedding, with their backward ops: the CUDA side of cpu/index.cc. Indices
// (i32 or i64) are checked on the device first, and a bad one fails with the
// CPU's message. The forward ops copy elements by size, so they take any
// dtype. The backward ops scatter-add with atomicAdd into zeros: repeated
// indices accumulate, in an order that may vary from run to run (the CPU sums
// in index order, so results agree to rounding).
#include <cuda_runtime.h>

#include <string>

#include "../cpu/kernel_util.h"
#include "cuda_kernels.cuh"

namespace tg {

namespace {

int64_t prod(const Shape& s, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t d = begin; d < end; ++d) n *= s[d];
  return n;
}

// Calls fn(const I*) with the index tensor's data, I = int32_t or int64_t.
template <typename Fn>
void with_indices(const Tensor& t, Fn&& fn) {
  if (t.dtype() == DType::i32) {
    fn(t.data<int32_t>());
  } else {
    fn(t.data<int64_t>());
  }
}

void zero(const Tensor& t) {
  if (t.nbytes() > 0) cuda_check(cudaMemsetAsync(t.raw(), 0, t.nbytes(), 0), "clearing a gradient");
}

// ---- index_select / index_select_backward ----
// x viewed as (outer, n, inner) around axis; y as (outer, K, inner).

struct AxisLayout {
  int64_t axis, outer, n, inner;
};

AxisLayout axis_layout(const Shape& shape, const Attrs& attrs) {
  AxisLayout l{};
  l.axis = normalize_axis(attrs.get_int("axis", 0), static_cast<int64_t>(shape.size()), "attribute 'axis'");
  const size_t ax = static_cast<size_t>(l.axis);
  l.outer = prod(shape, 0, ax);
  l.n = shape[ax];
  l.inner = prod(shape, ax + 1, shape.size());
  return l;
}

std::string axis_range(const AxisLayout& l) {
  return "for dim " + std::to_string(l.axis) + " of size " + std::to_string(l.n);
}

// Offset in the (outer, n, inner) tensor of element i of the (outer, K, inner) one.
template <typename Q, typename I>
__device__ __forceinline__ int64_t selected_offset(Q i, const I* idx, Q k_count, Q n, Q inner) {
  const Q j = i % inner, rest = i / inner;
  const Q k = rest % k_count, o = rest / k_count;
  return (static_cast<int64_t>(o) * static_cast<int64_t>(n) + static_cast<int64_t>(idx[k])) *
             static_cast<int64_t>(inner) +
         static_cast<int64_t>(j);
}

// x: (outer, n, inner); idx: (K); y: (outer, K, inner) with `total` elements
template <typename Q, typename T, typename I>
__global__ void index_select_kernel(const T* __restrict__ x, const I* __restrict__ idx, T* __restrict__ y,
                                    int64_t total, int64_t k_count, int64_t n, int64_t inner) {
  for (int64_t i = thread_index(); i < total; i += thread_count()) {
    y[i] = x[selected_offset<Q>(static_cast<Q>(i), idx, static_cast<Q>(k_count), static_cast<Q>(n),
                                static_cast<Q>(inner))];
  }
}

// dy: (outer, K, inner) with `total` elements; idx: (K); dx: (outer, n, inner), zeroed
template <typename Q, typename I>
__global__ void index_select_backward_kernel(const float* __restrict__ dy, const I* __restrict__ idx,
                                             float* __restrict__ dx, int64_t total, int64_t k_count, int64_t n,
                                             int64_t inner) {
  for (int64_t i = thread_index(); i < total; i += thread_count()) {
    atomicAdd(dx + selected_offset<Q>(static_cast<Q>(i), idx, static_cast<Q>(k_count), static_cast<Q>(n),
                                      static_cast<Q>(inner)),
              dy[i]);
  }
}

// x: (..., n, ...) with n at `axis`; index: (K); y: x's shape with K at axis
void cuda_index_select_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                               const RunContext&) {
  const AxisLayout l = axis_layout(in[0].shape(), attrs);
  cuda_check_indices(in[1], l.n, "index", axis_range(l));
  const int64_t total = out[0].numel();
  if (total == 0) return;
  const int64_t k_count = in[1].numel();
  with_element_type(in[0].dtype(), [&](auto element) {
    using T = decltype(element);
    with_indices(in[1], [&](const auto* idx) {
      if (fits_32(std::max(total, l.outer * l.n * l.inner))) {
        index_select_kernel<uint32_t><<<grid_for(total), kBlock>>>(static_cast<const T*>(in[0].raw()), idx,
                                                                   static_cast<T*>(out[0].raw()), total, k_count,
                                                                   l.n, l.inner);
      } else {
        index_select_kernel<uint64_t><<<grid_for(total), kBlock>>>(static_cast<const T*>(in[0].raw()), idx,
                                                                   static_cast<T*>(out[0].raw()), total, k_count,
                                                                   l.n, l.inner);
      }
    });
  });
  check_launch("index_select_kernel");
}

// dy: input_shape with K at axis; index: (K); dx: input_shape
void cuda_index_select_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                                const RunContext&) {
  const AxisLayout l = axis_layout(out[0].shape(), attrs);
  cuda_check_indices(in[1], l.n, "index", axis_range(l));
  zero(out[0]);
  const int64_t total = in[0].numel();
  if (total == 0) return;
  const int64_t k_count = in[1].numel();
  with_indices(in[1], [&](const auto* idx) {
    if (fits_32(std::max(total, out[0].numel()))) {
      index_select_backward_kernel<uint32_t><<<grid_for(total), kBlock>>>(
          in[0].data<float>(), idx, out[0].data<float>(), total, k_count, l.n, l.inner);
    } else {
      index_select_backward_kernel<uint64_t><<<grid_for(total), kBlock>>>(
          in[0].data<float>(), idx, out[0].data<float>(), total, k_count, l.n, l.inner);
    }
  });
  check_launch("index_select_backward_kernel");
}

// ---- gather / gather_backward ----
// Element p of index (and y) reads x at p's coordinates, its axis coordinate
// replaced by index[p]: the IndexMap over index's shape carries x's strides
// with 0 along axis, and the index value adds axis_stride times itself.

struct GatherPlan {
  IndexMap<1> map;
  int64_t axis_stride, n;
};

GatherPlan gather_plan(const Shape& x, const Shape& index, const Attrs& attrs) {
  const int64_t axis = normalize_axis(attrs.get_int("axis", 0), static_cast<int64_t>(x.size()), "attribute 'axis'");
  std::vector<int64_t> stride(x.size());
  int64_t s = 1;
  for (size_t d = x.size(); d-- > 0;) {
    stride[d] = s;
    s *= x[d];
  }
  GatherPlan p;
  p.axis_stride = stride[static_cast<size_t>(axis)];
  p.n = x[static_cast<size_t>(axis)];
  for (size_t d = index.size(); d-- > 0;) {
    push_dim(p.map, index[d], {static_cast<int64_t>(d) == axis ? 0 : stride[d]}, "gather");
  }
  return p;
}

std::string gather_range(const Attrs& attrs, const Shape& x, int64_t n) {
  const int64_t axis = normalize_axis(attrs.get_int("axis", 0), static_cast<int64_t>(x.size()), "attribute 'axis'");
  return "for x's dim " + std::to_string(axis) + " of size " + std::to_string(n);
}

// x: any shape; idx, y: index's shape, `total` elements
template <typename Q, typename T, typename I>
__global__ void gather_kernel(const T* __restrict__ x, const I* __restrict__ idx, T* __restrict__ y, int64_t total,
                              IndexMap<1> map, int64_t axis_stride) {
  for (int64_t p = thread_index(); p < total; p += thread_count()) {
    int64_t off[1];
    map.offsets<Q>(static_cast<Q>(p), off);
    y[p] = x[off[0] + static_cast<int64_t>(idx[p]) * axis_stride];
  }
}

// dy, idx: index's shape, `total` elements; dx: input_shape, zeroed
template <typename Q, typename I>
__global__ void gather_backward_kernel(const float* __restrict__ dy, const I* __restrict__ idx,
                                       float* __restrict__ dx, int64_t total, IndexMap<1> map, int64_t axis_stride) {
  for (int64_t p = thread_index(); p < total; p += thread_count()) {
    int64_t off[1];
    map.offsets<Q>(static_cast<Q>(p), off);
    atomicAdd(dx + off[0] + static_cast<int64_t>(idx[p]) * axis_stride, dy[p]);
  }
}

void cuda_gather_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                         const RunContext&) {
  const GatherPlan p = gather_plan(in[0].shape(), in[1].shape(), attrs);
  cuda_check_indices(in[1], p.n, "index", gather_range(attrs, in[0].shape(), p.n));
  const int64_t total = out[0].numel();
  if (total == 0) return;
  with_element_type(in[0].dtype(), [&](auto element) {
    using T = decltype(element);
    with_indices(in[1], [&](const auto* idx) {
      if (fits_32(total)) {
        gather_kernel<uint32_t><<<grid_for(total), kBlock>>>(static_cast<const T*>(in[0].raw()), idx,
                                                             static_cast<T*>(out[0].raw()), total, p.map,
                                                             p.axis_stride);
      } else {
        gather_kernel<uint64_t><<<grid_for(total), kBlock>>>(static_cast<const T*>(in[0].raw()), idx,
                                                             static_cast<T*>(out[0].raw()), total, p.map,
                                                             p.axis_stride);
      }
    });
  });
  check_launch("gather_kernel");
}

void cuda_gather_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                          const RunContext&) {
  const GatherPlan p = gather_plan(out[0].shape(), in[1].shape(), attrs);
  cuda_check_indices(in[1], p.n, "index", gather_range(attrs, out[0].shape(), p.n));
  zero(out[0]);
  const int64_t total = in[0].numel();
  if (total == 0) return;
  with_indices(in[1], [&](const auto* idx) {
    if (fits_32(total)) {
      gather_backward_kernel<uint32_t><<<grid_for(total), kBlock>>>(in[0].data<float>(), idx, out[0].data<float>(),
                                                                    total, p.map, p.axis_stride);
    } else {
      gather_backward_kernel<uint64_t><<<grid_for(total), kBlock>>>(in[0].data<float>(), idx, out[0].data<float>(),
                                                                    total, p.map, p.axis_stride);
    }
  });
  check_launch("gather_backward_kernel");
}

// ---- embedding / embedding_backward ----
// weight (V, D) with ids of any shape: index_select of rows, laid out as
// (1, N, D) against (1, V, D).

std::string vocab_range(int64_t vocab) { return "for " + std::to_string(vocab) + " embeddings"; }

// weight: (V, D); ids: (...) -> y: (..., D)
void cuda_embedding_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                            const RunContext&) {
  const int64_t vocab = in[0].size(0), dim = in[0].size(1);
  cuda_check_indices(in[1], vocab, "ids", vocab_range(vocab));
  const int64_t total = out[0].numel();
  if (total == 0) return;
  const int64_t k_count = in[1].numel();
  with_element_type(in[0].dtype(), [&](auto element) {
    using T = decltype(element);
    with_indices(in[1], [&](const auto* idx) {
      if (fits_32(std::max(total, in[0].numel()))) {
        index_select_kernel<uint32_t><<<grid_for(total), kBlock>>>(static_cast<const T*>(in[0].raw()), idx,
                                                                   static_cast<T*>(out[0].raw()), total, k_count,
                                                                   vocab, dim);
      } else {
        index_select_kernel<uint64_t><<<grid_for(total), kBlock>>>(static_cast<const T*>(in[0].raw()), idx,
                                                                   static_cast<T*>(out[0].raw()), total, k_count,
                                                                   vocab, dim);
      }
    });
  });
  check_launch("index_select_kernel (embedding)");
}

// dy: (N, D) flattened; ids: (N); dw: (V, D), zeroed; row `padding` gets nothing.
template <typename Q, typename I>
__global__ void embedding_backward_kernel(const float* __restrict__ dy, const I* __restrict__ ids,
                                          float* __restrict__ dw, int64_t total, int64_t dim, int64_t padding) {
  for (int64_t i = thread_index(); i < total; i += thread_count()) {
    const Q p = static_cast<Q>(i) / static_cast<Q>(dim);
    const int64_t row = static_cast<int64_t>(ids[p]);
    if (row == padding) continue;
    atomicAdd(dw + row * dim + (i - static_cast<int64_t>(p) * dim), dy[i]);
  }
}

// dy: (..., D); ids: (...); dw: (num_embeddings, D)
void cuda_embedding_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                             const RunContext&) {
  const int64_t vocab = out[0].size(0), dim = out[0].size(1);
  cuda_check_indices(in[1], vocab, "ids", vocab_range(vocab));
  zero(out[0]);
  const int64_t total = in[0].numel();
  if (total == 0) return;
  const int64_t padding = attrs.get_int("padding_idx", -1);
  with_indices(in[1], [&](const auto* ids) {
    if (fits_32(total)) {
      embedding_backward_kernel<uint32_t><<<grid_for(total), kBlock>>>(in[0].data<float>(), ids,
                                                                       out[0].data<float>(), total, dim, padding);
    } else {
      embedding_backward_kernel<uint64_t><<<grid_for(total), kBlock>>>(in[0].data<float>(), ids,
                                                                       out[0].data<float>(), total, dim, padding);
    }
  });
  check_launch("embedding_backward_kernel");
}

}  // namespace

TG_REGISTER_CUDA_KERNEL("index_select", cuda_index_select_forward);
TG_REGISTER_CUDA_KERNEL("index_select_backward", cuda_index_select_backward);
TG_REGISTER_CUDA_KERNEL("gather", cuda_gather_forward);
TG_REGISTER_CUDA_KERNEL("gather_backward", cuda_gather_backward);
TG_REGISTER_CUDA_KERNEL("embedding", cuda_embedding_forward);
TG_REGISTER_CUDA_KERNEL("embedding_backward", cuda_embedding_backward);

}  // namespace tg
