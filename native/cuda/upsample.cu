// Upsampling (any resize) of the last two dims of x, (N, C, H, W) or (C, H, W),
// as F.interpolate with mode 'nearest' or 'bilinear': the CUDA side of
// cpu/upsample.cc. Source indices and weights are computed in f32 as the CPU
// computes them, with the rounding of every step pinned (__fmul_rn and
// __fadd_rn cannot be fused into an FMA), so both backends pick the same
// source pixels. A thread computes one output; the backward op scatters into
// zeros with atomicAdd.
#include <cuda_runtime.h>

#include <array>
#include <cmath>
#include <string>
#include <variant>

#include "cuda_kernels.cuh"

namespace tg {

namespace {

// Source of one output index along a dim: in0 * l0 + in1 * l1 (nearest: in0 only).
struct Tap {
  int64_t in0, in1;
  float l0, l1;
};

// How output indices map to sources along one dim.
struct AxisRule {
  int64_t in, out;
  float scale;  // source step: in / out, 1 / scale_factor, or the align_corners ratio
  bool bilinear, align_corners;

  __device__ __forceinline__ Tap at(int64_t o) const {
    const float fo = static_cast<float>(o);
    if (!bilinear) {
      const int64_t i = min(static_cast<int64_t>(floorf(__fmul_rn(fo, scale))), in - 1);
      return {i, i, 1.0f, 0.0f};
    }
    if (out == in) return {o, o, 1.0f, 0.0f};
    const float src = align_corners ? __fmul_rn(scale, fo)
                                    : fmaxf(__fadd_rn(__fmul_rn(scale, __fadd_rn(fo, 0.5f)), -0.5f), 0.0f);
    const int64_t i0 = static_cast<int64_t>(src);
    const int64_t i1 = i0 + (i0 < in - 1 ? 1 : 0);
    const float l1 = fminf(fmaxf(__fadd_rn(src, -static_cast<float>(i0)), 0.0f), 1.0f);
    return {i0, i1, __fadd_rn(1.0f, -l1), l1};
  }
};

struct Geometry {
  AxisRule h, w;
  int64_t planes;
};

// x: (planes, H, W); y: (planes, OH, OW)
__global__ void upsample_kernel(const float* __restrict__ x, float* __restrict__ y, Geometry g) {
  const int64_t n = g.planes * g.h.out * g.w.out;
  for (int64_t i = thread_index(); i < n; i += thread_count()) {
    const int64_t ow = i % g.w.out, rest = i / g.w.out;
    const int64_t oh = rest % g.h.out, plane = rest / g.h.out;
    const Tap h = g.h.at(oh), w = g.w.at(ow);
    const float* r0 = x + (plane * g.h.in + h.in0) * g.w.in;
    if (!g.h.bilinear) {
      y[i] = r0[w.in0];  // a copy: no zero weight may turn an inf into NaN
      continue;
    }
    const float* r1 = x + (plane * g.h.in + h.in1) * g.w.in;
    y[i] = h.l0 * (w.l0 * r0[w.in0] + w.l1 * r0[w.in1]) + h.l1 * (w.l0 * r1[w.in0] + w.l1 * r1[w.in1]);
  }
}

// dy: (planes, OH, OW); dx: (planes, H, W), zeroed; each dy spread over its sources
__global__ void upsample_backward_kernel(const float* __restrict__ dy, float* __restrict__ dx, Geometry g) {
  const int64_t n = g.planes * g.h.out * g.w.out;
  for (int64_t i = thread_index(); i < n; i += thread_count()) {
    const int64_t ow = i % g.w.out, rest = i / g.w.out;
    const int64_t oh = rest % g.h.out, plane = rest / g.h.out;
    const Tap h = g.h.at(oh), w = g.w.at(ow);
    float* r0 = dx + (plane * g.h.in + h.in0) * g.w.in;
    float* r1 = dx + (plane * g.h.in + h.in1) * g.w.in;
    const float g0 = h.l0 * dy[i], g1 = h.l1 * dy[i];
    atomicAdd(r0 + w.in0, g0 * w.l0);
    if (w.l1 != 0.0f) atomicAdd(r0 + w.in1, g0 * w.l1);
    if (h.l1 != 0.0f) {
      atomicAdd(r1 + w.in0, g1 * w.l0);
      if (w.l1 != 0.0f) atomicAdd(r1 + w.in1, g1 * w.l1);
    }
  }
}

// The given scale_factor as (sh, sw), or none when the size was given.
std::array<double, 2> scale_factors(const Attrs& a) {
  if (!a.has("scale_factor")) return {0.0, 0.0};
  const AttrValue& v = a.values().at("scale_factor");
  if (const auto* d = std::get_if<double>(&v)) return {*d, *d};
  if (const auto* i = std::get_if<int64_t>(&v)) return {static_cast<double>(*i), static_cast<double>(*i)};
  const std::vector<double> s = a.get_floats("scale_factor", {});
  return {s.front(), s.back()};
}

// As the CPU's source_scale and area_pixel_compute_scale.
AxisRule axis_rule(int64_t in, int64_t out, double scale_factor, bool bilinear, bool align_corners) {
  float scale;
  if (bilinear && align_corners) {
    scale = out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1) : 0.0f;
  } else {
    scale = scale_factor > 0 ? static_cast<float>(1.0 / scale_factor) : static_cast<float>(in) / static_cast<float>(out);
  }
  return AxisRule{in, out, scale, bilinear, align_corners};
}

// x: (..., H, W) resized to y: (..., OH, OW)
Geometry geometry(const Attrs& a, const Shape& x, const Shape& y) {
  const bool bilinear = a.get_string("mode", "nearest") == "bilinear";
  const bool align_corners = a.get_bool("align_corners", false);
  const std::array<double, 2> s = scale_factors(a);
  const size_t r = x.size();
  Geometry g;
  g.planes = shape_numel(Shape(x.begin(), x.end() - 2));
  g.h = axis_rule(x[r - 2], y[r - 2], s[0], bilinear, align_corners);
  g.w = axis_rule(x[r - 1], y[r - 1], s[1], bilinear, align_corners);
  return g;
}

// x: (N, C, H, W); y: (N, C, OH, OW)
void cuda_upsample_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                           const RunContext&) {
  const int64_t n = out[0].numel();
  if (n == 0) return;
  upsample_kernel<<<grid_for(n), kBlock>>>(in[0].data<float>(), out[0].data<float>(),
                                           geometry(attrs, in[0].shape(), out[0].shape()));
  check_launch("upsample_kernel");
}

// dy: (N, C, OH, OW); dx: (N, C, H, W)
void cuda_upsample_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                            const RunContext&) {
  if (out[0].nbytes() > 0) cuda_check(cudaMemsetAsync(out[0].raw(), 0, out[0].nbytes(), 0), "clearing a gradient");
  const int64_t n = in[0].numel();
  if (n == 0) return;
  upsample_backward_kernel<<<grid_for(n), kBlock>>>(in[0].data<float>(), out[0].data<float>(),
                                                    geometry(attrs, out[0].shape(), in[0].shape()));
  check_launch("upsample_backward_kernel");
}

}  // namespace

TG_REGISTER_CUDA_KERNEL("upsample", cuda_upsample_forward);
TG_REGISTER_CUDA_KERNEL("upsample_backward", cuda_upsample_backward);

}  // namespace tg
