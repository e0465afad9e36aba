// softmax and log_softmax along any axis on CUDA, and their backward ops from
// the saved output y: the CUDA side of cpu/softmax.cc. The tensor is viewed as
// (outer, L, inner) around the axis; each lane (o, :, j) is one softmax.
// Along the last axis (inner == 1) a block owns a row and its threads read
// consecutive elements; otherwise a thread owns a lane and neighbouring
// threads read neighbouring lanes, so every pass over L is coalesced.
// Exponentials are shifted by the lane's max, so they never overflow.
#include <cuda_runtime.h>

#include "../cpu/kernel_util.h"
#include "cuda_kernels.cuh"

namespace tg {

namespace {

struct AxisView {
  int64_t outer = 1, len = 1, inner = 1;
};

AxisView axis_view(const Shape& shape, const Attrs& attrs) {
  const int64_t axis = normalize_axis(attrs.get_int("axis", -1), static_cast<int64_t>(shape.size()),
                                      "attribute 'axis'");
  AxisView v;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    const int64_t s = shape[static_cast<size_t>(d)];
    if (d < axis) v.outer *= s;
    if (d == axis) v.len = s;
    if (d > axis) v.inner *= s;
  }
  return v;
}

// x, y: (rows, L)
template <bool Log>
__global__ void softmax_rows_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t rows, int64_t len) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {  // uniform per block: block_reduce is reached by all
    const float* xr = x + r * len;
    float* yr = y + r * len;
    float mx = -INFINITY;
    for (int64_t l = threadIdx.x; l < len; l += blockDim.x) mx = fmaxf(mx, xr[l]);
    mx = block_reduce(mx, MaxOp{}, -INFINITY);
    float sum = 0.0f;
    for (int64_t l = threadIdx.x; l < len; l += blockDim.x) sum += expf(xr[l] - mx);
    sum = block_reduce(sum, SumOp{}, 0.0f);
    if (Log) {
      const float shift = mx + logf(sum);
      for (int64_t l = threadIdx.x; l < len; l += blockDim.x) yr[l] = xr[l] - shift;
    } else {
      const float inv = 1.0f / sum;
      for (int64_t l = threadIdx.x; l < len; l += blockDim.x) yr[l] = expf(xr[l] - mx) * inv;
    }
  }
}

// x, y: (outer, L, inner); one thread per lane (o, j).
template <bool Log>
__global__ void softmax_lanes_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t outer, int64_t len,
                                     int64_t inner) {
  for (int64_t t = thread_index(); t < outer * inner; t += thread_count()) {
    const int64_t base = (t / inner) * len * inner + t % inner;
    float mx = -INFINITY;
    for (int64_t l = 0; l < len; ++l) mx = fmaxf(mx, x[base + l * inner]);
    float sum = 0.0f;
    for (int64_t l = 0; l < len; ++l) sum += expf(x[base + l * inner] - mx);
    if (Log) {
      const float shift = mx + logf(sum);
      for (int64_t l = 0; l < len; ++l) y[base + l * inner] = x[base + l * inner] - shift;
    } else {
      const float inv = 1.0f / sum;
      for (int64_t l = 0; l < len; ++l) y[base + l * inner] = expf(x[base + l * inner] - mx) * inv;
    }
  }
}

// dy, y, dx: (rows, L). softmax: dx = y (dy - sum(dy y)); log_softmax: dx = dy - exp(y) sum(dy).
template <bool Log>
__global__ void softmax_backward_rows_kernel(const float* __restrict__ dy, const float* __restrict__ y,
                                             float* __restrict__ dx, int64_t rows, int64_t len) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* dr = dy + r * len;
    const float* yr = y + r * len;
    float* xr = dx + r * len;
    float acc = 0.0f;
    for (int64_t l = threadIdx.x; l < len; l += blockDim.x) acc += Log ? dr[l] : dr[l] * yr[l];
    acc = block_reduce(acc, SumOp{}, 0.0f);
    for (int64_t l = threadIdx.x; l < len; l += blockDim.x) {
      xr[l] = Log ? dr[l] - expf(yr[l]) * acc : yr[l] * (dr[l] - acc);
    }
  }
}

// dy, y, dx: (outer, L, inner); one thread per lane.
template <bool Log>
__global__ void softmax_backward_lanes_kernel(const float* __restrict__ dy, const float* __restrict__ y,
                                              float* __restrict__ dx, int64_t outer, int64_t len, int64_t inner) {
  for (int64_t t = thread_index(); t < outer * inner; t += thread_count()) {
    const int64_t base = (t / inner) * len * inner + t % inner;
    float acc = 0.0f;
    for (int64_t l = 0; l < len; ++l) {
      const int64_t i = base + l * inner;
      acc += Log ? dy[i] : dy[i] * y[i];
    }
    for (int64_t l = 0; l < len; ++l) {
      const int64_t i = base + l * inner;
      dx[i] = Log ? dy[i] - expf(y[i]) * acc : y[i] * (dy[i] - acc);
    }
  }
}

template <bool Log>
void softmax_forward(const Tensor& x, const Tensor& y, const Attrs& attrs) {
  const AxisView v = axis_view(x.shape(), attrs);
  if (x.numel() == 0) return;
  if (v.inner == 1) {
    softmax_rows_kernel<Log><<<grid_for(v.outer, 1), block_for_len(v.len)>>>(x.data<float>(), y.data<float>(),
                                                                              v.outer, v.len);
    check_launch("softmax_rows_kernel");
  } else {
    softmax_lanes_kernel<Log><<<grid_for(v.outer * v.inner), kBlock>>>(x.data<float>(), y.data<float>(), v.outer,
                                                                        v.len, v.inner);
    check_launch("softmax_lanes_kernel");
  }
}

template <bool Log>
void softmax_backward(const Tensor& dy, const Tensor& y, const Tensor& dx, const Attrs& attrs) {
  const AxisView v = axis_view(y.shape(), attrs);
  if (y.numel() == 0) return;
  if (v.inner == 1) {
    softmax_backward_rows_kernel<Log><<<grid_for(v.outer, 1), block_for_len(v.len)>>>(
        dy.data<float>(), y.data<float>(), dx.data<float>(), v.outer, v.len);
    check_launch("softmax_backward_rows_kernel");
  } else {
    softmax_backward_lanes_kernel<Log><<<grid_for(v.outer * v.inner), kBlock>>>(
        dy.data<float>(), y.data<float>(), dx.data<float>(), v.outer, v.len, v.inner);
    check_launch("softmax_backward_lanes_kernel");
  }
}

// x, y: any shape, the same
void cuda_softmax_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                          const RunContext&) {
  softmax_forward<false>(in[0], out[0], attrs);
}
void cuda_log_softmax_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                              const RunContext&) {
  softmax_forward<true>(in[0], out[0], attrs);
}
// dy, y, dx: any shape, the same
void cuda_softmax_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                           const RunContext&) {
  softmax_backward<false>(in[0], in[1], out[0], attrs);
}
void cuda_log_softmax_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                               const RunContext&) {
  softmax_backward<true>(in[0], in[1], out[0], attrs);
}

}  // namespace

TG_REGISTER_CUDA_KERNEL("softmax", cuda_softmax_forward);
TG_REGISTER_CUDA_KERNEL("log_softmax", cuda_log_softmax_forward);
TG_REGISTER_CUDA_KERNEL("softmax_backward", cuda_softmax_backward);
TG_REGISTER_CUDA_KERNEL("log_softmax_backward", cuda_log_softmax_backward);

}  // namespace tg
