// 2-D pooling on CUDA over the last two dims of x, (N, C, H, W) or (C, H, W):
// max_pool2d (with indices), avg_pool2d, adaptive_avg_pool2d and
// adaptive_max_pool2d, and their backward ops; the CUDA side of cpu/pool.cc,
// with PyTorch's window rules. A thread computes one output; the backward ops
// scatter into zeros with atomicAdd, since windows may overlap. Output sizes
// come from the output tensors (the ops' infer has checked them).
#include <cuda_runtime.h>

#include <array>

#include "cuda_kernels.cuh"

namespace tg {

namespace {

// One dim's windows: taps at start, start + dilation, ... below end, inside
// the input; `padded` is the undilated window clipped to the padded input
// (avg_pool2d's divisor with count_include_pad).
struct Window {
  int64_t start, end, padded;
};

// How windows are laid along one dim: PyTorch's pooling windows, or its
// adaptive bins [floor(o in / out), ceil((o + 1) in / out)).
struct WindowRule {
  bool adaptive;
  int64_t in, out, kernel, stride, padding, dilation;

  __device__ __forceinline__ Window at(int64_t o) const {
    if (adaptive) {
      const int64_t start = o * in / out, end = ((o + 1) * in + out - 1) / out;
      return {start, end, end - start};
    }
    int64_t start = o * stride - padding;
    const int64_t end = min(start + (kernel - 1) * dilation + 1, in);
    const int64_t padded = min(start + kernel, in + padding) - start;
    if (start < 0) start += (-start + dilation - 1) / dilation * dilation;  // first tap inside the input
    return {start, end, padded};
  }
};

// The divisor of an average window: divisor_override, or the window's size
// with or without the padding it covers.
struct Divisor {
  int64_t override_value;  // 0: none
  bool include_pad;
  __device__ __forceinline__ float operator()(const Window& h, const Window& w) const {
    if (override_value != 0) return static_cast<float>(override_value);
    return static_cast<float>(include_pad ? h.padded * w.padded : (h.end - h.start) * (w.end - w.start));
  }
};

struct Geometry {
  WindowRule h, w;
  int64_t planes;
};

// x: (planes, H, W); y, indices: (planes, OH, OW). The first maximum of each
// window in row-major order, or its last NaN, as on the CPU and in PyTorch.
__global__ void max_pool_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t* __restrict__ indices,
                                Geometry g) {
  const int64_t n = g.planes * g.h.out * g.w.out;
  for (int64_t i = thread_index(); i < n; i += thread_count()) {
    const int64_t ow = i % g.w.out, rest = i / g.w.out;
    const int64_t oh = rest % g.h.out, plane = rest / g.h.out;
    const Window h = g.h.at(oh), w = g.w.at(ow);
    const float* px = x + plane * g.h.in * g.w.in;
    float best = -INFINITY;
    int64_t at = h.start * g.w.in + w.start;
    for (int64_t ih = h.start; ih < h.end; ih += g.h.dilation) {
      for (int64_t iw = w.start; iw < w.end; iw += g.w.dilation) {
        const float v = px[ih * g.w.in + iw];
        if (v > best || isnan(v)) {
          best = v;
          at = ih * g.w.in + iw;
        }
      }
    }
    y[i] = best;
    indices[i] = at;
  }
}

// x: (planes, H, W); y: (planes, OH, OW), window sums over the divisor
__global__ void avg_pool_kernel(const float* __restrict__ x, float* __restrict__ y, Geometry g, Divisor divisor) {
  const int64_t n = g.planes * g.h.out * g.w.out;
  for (int64_t i = thread_index(); i < n; i += thread_count()) {
    const int64_t ow = i % g.w.out, rest = i / g.w.out;
    const int64_t oh = rest % g.h.out, plane = rest / g.h.out;
    const Window h = g.h.at(oh), w = g.w.at(ow);
    const float* px = x + plane * g.h.in * g.w.in;
    float sum = 0.0f;
    for (int64_t ih = h.start; ih < h.end; ++ih) {
      for (int64_t iw = w.start; iw < w.end; ++iw) sum += px[ih * g.w.in + iw];
    }
    y[i] = sum / divisor(h, w);
  }
}

// dy: (planes, OH, OW); dx: (planes, H, W), zeroed, += dy / divisor over each window
__global__ void avg_pool_backward_kernel(const float* __restrict__ dy, float* __restrict__ dx, Geometry g,
                                         Divisor divisor) {
  const int64_t n = g.planes * g.h.out * g.w.out;
  for (int64_t i = thread_index(); i < n; i += thread_count()) {
    const int64_t ow = i % g.w.out, rest = i / g.w.out;
    const int64_t oh = rest % g.h.out, plane = rest / g.h.out;
    const Window h = g.h.at(oh), w = g.w.at(ow);
    float* px = dx + plane * g.h.in * g.w.in;
    const float v = dy[i] / divisor(h, w);
    for (int64_t ih = h.start; ih < h.end; ++ih) {
      for (int64_t iw = w.start; iw < w.end; ++iw) atomicAdd(px + ih * g.w.in + iw, v);
    }
  }
}

// dy, indices: (planes, K) with K outputs a plane; dx: (planes, plane_size), zeroed
__global__ void max_pool_backward_kernel(const float* __restrict__ dy, const int64_t* __restrict__ indices,
                                         float* __restrict__ dx, int64_t n, int64_t per_plane, int64_t plane_size) {
  for (int64_t i = thread_index(); i < n; i += thread_count()) {
    atomicAdd(dx + (i / per_plane) * plane_size + indices[i], dy[i]);
  }
}

using Pair = std::array<int64_t, 2>;

// An int-or-pair attribute (one value serves both dims); absent or empty: fallback.
Pair pair_attr(const Attrs& a, const char* name, const Pair& fallback) {
  const std::vector<int64_t> v = a.get_ints(name, {});
  return v.empty() ? fallback : Pair{v.front(), v.back()};
}

// x: (..., H, W) pooled to y: (..., OH, OW) as the attributes say.
Geometry pool_geometry(const Attrs& a, const Shape& x, const Shape& y, bool dilated) {
  const std::vector<int64_t> k = a.require_ints("kernel_size");
  const Pair kernel{k.front(), k.back()};
  const Pair stride = pair_attr(a, "stride", kernel);
  const Pair padding = pair_attr(a, "padding", {0, 0});
  const Pair dilation = dilated ? pair_attr(a, "dilation", {1, 1}) : Pair{1, 1};
  const size_t r = x.size();
  Geometry g;
  g.planes = shape_numel(Shape(x.begin(), x.end() - 2));
  g.h = WindowRule{false, x[r - 2], y[r - 2], kernel[0], stride[0], padding[0], dilation[0]};
  g.w = WindowRule{false, x[r - 1], y[r - 1], kernel[1], stride[1], padding[1], dilation[1]};
  return g;
}

Geometry adaptive_geometry(const Shape& x, const Shape& y) {
  const size_t r = x.size();
  Geometry g;
  g.planes = shape_numel(Shape(x.begin(), x.end() - 2));
  g.h = WindowRule{true, x[r - 2], y[r - 2], 0, 1, 0, 1};
  g.w = WindowRule{true, x[r - 1], y[r - 1], 0, 1, 0, 1};
  return g;
}

int64_t outputs(const Geometry& g) { return g.planes * g.h.out * g.w.out; }

Divisor parse_divisor(const Attrs& a) {
  return Divisor{a.get_int("divisor_override", 0), a.get_bool("count_include_pad", true)};
}

void zero(const Tensor& t) {
  if (t.nbytes() > 0) cuda_check(cudaMemsetAsync(t.raw(), 0, t.nbytes(), 0), "clearing a gradient");
}

void max_pool(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Geometry& g) {
  const int64_t n = outputs(g);
  if (n == 0) return;
  max_pool_kernel<<<grid_for(n), kBlock>>>(in[0].data<float>(), out[0].data<float>(), out[1].data<int64_t>(), g);
  check_launch("max_pool_kernel");
}

void avg_pool(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Geometry& g, const Divisor& d) {
  const int64_t n = outputs(g);
  if (n == 0) return;
  avg_pool_kernel<<<grid_for(n), kBlock>>>(in[0].data<float>(), out[0].data<float>(), g, d);
  check_launch("avg_pool_kernel");
}

void avg_pool_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Geometry& g,
                       const Divisor& d) {
  zero(out[0]);
  const int64_t n = outputs(g);
  if (n == 0) return;
  avg_pool_backward_kernel<<<grid_for(n), kBlock>>>(in[0].data<float>(), out[0].data<float>(), g, d);
  check_launch("avg_pool_backward_kernel");
}

// x: (N, C, H, W); y, indices: (N, C, OH, OW)
void cuda_max_pool2d_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                             const RunContext&) {
  max_pool(in, out, pool_geometry(attrs, in[0].shape(), out[0].shape(), true));
}

// dy, indices: (N, C, OH, OW); dx: (N, C, H, W), dy added at the plane positions indices
void cuda_max_pool2d_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                              const RunContext&) {
  const Shape& s = out[0].shape();
  const int64_t plane_size = s[s.size() - 2] * s[s.size() - 1];
  const BadIndex bad = cuda_find_bad_index(in[1], plane_size);
  if (bad.position >= 0) {
    fail("ERR_TG_ARG", "indices holds ", bad.value, ", outside a plane of ", plane_size, " elements");
  }
  zero(out[0]);
  const int64_t n = in[0].numel();
  const int64_t planes = shape_numel(Shape(s.begin(), s.end() - 2));
  if (n == 0 || planes == 0) return;
  max_pool_backward_kernel<<<grid_for(n), kBlock>>>(in[0].data<float>(), in[1].data<int64_t>(), out[0].data<float>(),
                                                    n, n / planes, plane_size);
  check_launch("max_pool_backward_kernel");
}

// x: (N, C, H, W); y: (N, C, OH, OW)
void cuda_avg_pool2d_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                             const RunContext&) {
  avg_pool(in, out, pool_geometry(attrs, in[0].shape(), out[0].shape(), false), parse_divisor(attrs));
}

// dy: (N, C, OH, OW); dx: (N, C, H, W)
void cuda_avg_pool2d_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                              const RunContext&) {
  avg_pool_backward(in, out, pool_geometry(attrs, out[0].shape(), in[0].shape(), false), parse_divisor(attrs));
}

// x: (N, C, H, W); y: (N, C, oh, ow)
void cuda_adaptive_avg_pool2d_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                                      const RunContext&) {
  avg_pool(in, out, adaptive_geometry(in[0].shape(), out[0].shape()), Divisor{0, false});
}

// dy: (N, C, oh, ow); dx: (N, C, H, W)
void cuda_adaptive_avg_pool2d_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                                       const RunContext&) {
  avg_pool_backward(in, out, adaptive_geometry(out[0].shape(), in[0].shape()), Divisor{0, false});
}

// x: (N, C, H, W); y, indices: (N, C, oh, ow)
void cuda_adaptive_max_pool2d_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                                      const RunContext&) {
  max_pool(in, out, adaptive_geometry(in[0].shape(), out[0].shape()));
}

}  // namespace

TG_REGISTER_CUDA_KERNEL("max_pool2d", cuda_max_pool2d_forward);
TG_REGISTER_CUDA_KERNEL("max_pool2d_backward", cuda_max_pool2d_backward);
TG_REGISTER_CUDA_KERNEL("avg_pool2d", cuda_avg_pool2d_forward);
TG_REGISTER_CUDA_KERNEL("avg_pool2d_backward", cuda_avg_pool2d_backward);
TG_REGISTER_CUDA_KERNEL("adaptive_avg_pool2d", cuda_adaptive_avg_pool2d_forward);
TG_REGISTER_CUDA_KERNEL("adaptive_avg_pool2d_backward", cuda_adaptive_avg_pool2d_backward);
TG_REGISTER_CUDA_KERNEL("adaptive_max_pool2d", cuda_adaptive_max_pool2d_forward);

}  // namespace tg
