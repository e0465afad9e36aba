// Reductions over a set of axes on CUDA: sum and mean with keepdim, their
// backward ops (dy broadcast back over the reduced axes), and cuda_reduce_sum,
// the sum over dims that sum_to and the losses use too.
//
// The input's dims are sorted into kept and reduced ones (adjacent dims of one
// kind merged). When the innermost dim is reduced and long, a block sums each
// output, its threads reading consecutive elements; otherwise a thread sums
// each output, and neighbouring threads read neighbouring kept elements. When
// there are too few outputs to fill the GPU, the reduced terms are split into
// parts whose partial sums a second kernel adds in part order. The split
// depends on the shape alone, so results do not vary from run to run.
#include <cuda_runtime.h>

#include "../cpu/kernel_util.h"
#include "cuda_kernels.cuh"

namespace tg {

namespace {

// Block-per-output sums are worth it from this many terms on.
constexpr int64_t kRowTerms = 64;
// Enough independent items to fill any current GPU: blocks for row sums,
// threads for column sums.
constexpr int64_t kTargetBlocks = 2048;
constexpr int64_t kTargetThreads = int64_t{1} << 18;
constexpr int64_t kMaxParts = 4096;

// x: reduced terms of outputs, at kept.offsets(o) + red.offsets(r).
// out: (parts, nk), or y itself (nk) when parts == 1, already scaled.
template <typename I>
__global__ void reduce_rows_kernel(const float* __restrict__ x, IndexMap<1> kept, IndexMap<1> red, int64_t nk,
                                   int64_t nr, int64_t parts, int64_t span, float scale, float* __restrict__ out) {
  // The loop bound depends on blockIdx only, so every thread reaches block_reduce.
  for (int64_t item = blockIdx.x; item < nk * parts; item += gridDim.x) {
    const int64_t o = item % nk, part = item / nk;
    int64_t base[1];
    kept.offsets<I>(static_cast<I>(o), base);
    const int64_t r1 = min(nr, (part + 1) * span);
    float acc = 0.0f;
    for (int64_t r = part * span + threadIdx.x; r < r1; r += blockDim.x) {
      int64_t at[1];
      red.offsets<I>(static_cast<I>(r), at);
      acc += x[base[0] + at[0]];
    }
    acc = block_reduce(acc, SumOp{}, 0.0f);
    if (threadIdx.x == 0) out[part * nk + o] = parts == 1 ? acc * scale : acc;
  }
}

// As reduce_rows_kernel with one thread per (part, output).
template <typename I>
__global__ void reduce_cols_kernel(const float* __restrict__ x, IndexMap<1> kept, IndexMap<1> red, int64_t nk,
                                   int64_t nr, int64_t parts, int64_t span, float scale, float* __restrict__ out) {
  for (int64_t t = thread_index(); t < nk * parts; t += thread_count()) {
    const int64_t o = t % nk, part = t / nk;
    int64_t base[1];
    kept.offsets<I>(static_cast<I>(o), base);
    const int64_t r1 = min(nr, (part + 1) * span);
    float acc = 0.0f;
    for (int64_t r = part * span; r < r1; ++r) {
      int64_t at[1];
      red.offsets<I>(static_cast<I>(r), at);
      acc += x[base[0] + at[0]];
    }
    out[t] = parts == 1 ? acc * scale : acc;
  }
}

// partial: (parts, nk) -> y: (nk), adding the parts in order.
__global__ void finish_parts_kernel(const float* __restrict__ partial, int64_t nk, int64_t parts, float scale,
                                    float* __restrict__ y) {
  for (int64_t o = thread_index(); o < nk; o += thread_count()) {
    float acc = 0.0f;
    for (int64_t p = 0; p < parts; ++p) acc += partial[p * nk + o];
    y[o] = acc * scale;
  }
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// reduced[d]: dim d of a rank-`rank` input is reduced. No `axes` attribute means
// every axis, an empty list none (the op's infer has validated the list).
std::vector<bool> reduced_dims(const Attrs& attrs, int64_t rank) {
  std::vector<bool> reduced(static_cast<size_t>(rank), !attrs.has("axes"));
  for (int64_t axis : attrs.get_ints("axes", {})) {
    reduced[static_cast<size_t>(normalize_axis(axis, rank, "attribute 'axes': axis"))] = true;
  }
  return reduced;
}

int64_t reduced_count(const Shape& shape, const std::vector<bool>& reduced) {
  int64_t n = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (reduced[d]) n *= shape[d];
  }
  return n;
}

// x, y: as in cuda_reduce_sum
void cuda_sum_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                      const RunContext&) {
  cuda_reduce_sum(in[0].data<float>(), in[0].shape(), reduced_dims(attrs, in[0].dim()), out[0].data<float>(), 1.0f);
}

// The mean of no elements is NaN (0 * inf), as on the CPU and in torch.
void cuda_mean_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                       const RunContext&) {
  const std::vector<bool> reduced = reduced_dims(attrs, in[0].dim());
  const double count = static_cast<double>(reduced_count(in[0].shape(), reduced));
  cuda_reduce_sum(in[0].data<float>(), in[0].shape(), reduced, out[0].data<float>(),
                  static_cast<float>(1.0 / count));
}

// y[i] = scale * x[off]: dy read back over the reduced dims.
struct ScaledRead {
  const float* x;
  float scale;
  __device__ __forceinline__ float operator()(const int64_t (&off)[1]) const { return scale * x[off[0]]; }
};

// dy: the kept dims of dx's shape, in order; dx: (shape)
void broadcast_back(const Tensor& dy, const Tensor& dx, const std::vector<bool>& reduced, float scale) {
  const Shape& shape = dx.shape();
  std::vector<int64_t> dy_stride(shape.size(), 0);
  int64_t step = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    if (reduced[d]) continue;
    dy_stride[d] = step;
    step *= shape[d];
  }
  IndexMap<1> m;
  for (size_t d = shape.size(); d-- > 0;) push_dim(m, shape[d], {dy_stride[d]}, "sum_backward");
  launch_map_indexed(m, dx.numel(), dx.data<float>(), ScaledRead{dy.data<float>(), scale});
}

void cuda_sum_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                       const RunContext&) {
  broadcast_back(in[0], out[0], reduced_dims(attrs, out[0].dim()), 1.0f);
}

void cuda_mean_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                        const RunContext&) {
  const std::vector<bool> reduced = reduced_dims(attrs, out[0].dim());
  const double count = static_cast<double>(reduced_count(out[0].shape(), reduced));
  broadcast_back(in[0], out[0], reduced, static_cast<float>(1.0 / count));
}

}  // namespace

void cuda_reduce_sum(const float* x, const Shape& shape, const std::vector<bool>& reduced, float* y, float scale) {
  // x's contiguous strides, sorted into the kept and the reduced index spaces
  // from the innermost dim out; push_dim merges dims adjacent in x and of one kind.
  IndexMap<1> kept, red;
  bool inner_reduced = false, inner_seen = false;
  int64_t nk = 1, nr = 1;  // outputs, and terms per output
  int64_t stride = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    push_dim(reduced[d] ? red : kept, shape[d], {stride}, "reduction");
    (reduced[d] ? nr : nk) *= shape[d];
    if (shape[d] != 1 && !inner_seen) {
      inner_reduced = reduced[d];
      inner_seen = true;
    }
    stride *= shape[d];
  }
  if (nk == 0) return;
  if (nr == 0) {
    cuda_fill(y, nk, 0.0f * scale);
    return;
  }
  const bool rows = inner_reduced && nr >= kRowTerms;
  const int threads = rows ? block_for_len(nr) : kBlock;
  const int64_t per_part = rows ? 8 * threads : 32;  // fewest terms worth a part of their own
  const int64_t want = rows ? kTargetBlocks : kTargetThreads;
  const int64_t parts =
      std::max<int64_t>(1, std::min({ceil_div(want, nk), ceil_div(nr, per_part), kMaxParts}));
  const int64_t span = ceil_div(nr, parts);
  Tensor partial;
  float* out = y;
  if (parts > 1) {
    partial = cuda_scratch({parts, nk}, DType::f32);
    out = partial.data<float>();
  }
  const bool small = fits_32(std::max(nk, nr));
  if (rows) {
    const unsigned grid = grid_for(nk * parts, 1);
    if (small) {
      reduce_rows_kernel<uint32_t><<<grid, threads>>>(x, kept, red, nk, nr, parts, span, scale, out);
    } else {
      reduce_rows_kernel<uint64_t><<<grid, threads>>>(x, kept, red, nk, nr, parts, span, scale, out);
    }
    check_launch("reduce_rows_kernel");
  } else {
    const unsigned grid = grid_for(nk * parts);
    if (small) {
      reduce_cols_kernel<uint32_t><<<grid, kBlock>>>(x, kept, red, nk, nr, parts, span, scale, out);
    } else {
      reduce_cols_kernel<uint64_t><<<grid, kBlock>>>(x, kept, red, nk, nr, parts, span, scale, out);
    }
    check_launch("reduce_cols_kernel");
  }
  if (parts > 1) {
    finish_parts_kernel<<<grid_for(nk), kBlock>>>(out, nk, parts, scale, y);
    check_launch("finish_parts_kernel");
  }
}

TG_REGISTER_CUDA_KERNEL("sum", cuda_sum_forward);
TG_REGISTER_CUDA_KERNEL("mean", cuda_mean_forward);
TG_REGISTER_CUDA_KERNEL("sum_backward", cuda_sum_backward);
TG_REGISTER_CUDA_KERNEL("mean_backward", cuda_mean_backward);

}  // namespace tg
