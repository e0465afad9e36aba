// 2-D pooling over the last two dims of x, (N, C, H, W) or (C, H, W), with the
// semantics of torch.nn.functional as PyTorch 1.13's CPU kernels compute them:
// max_pool2d (return_indices), avg_pool2d, adaptive_avg_pool2d and
// adaptive_max_pool2d, and their backward ops. Forward kernels split the work
// over (plane, output row); backward kernels scatter into one input plane per
// task, so every sum runs in a fixed order whatever the thread count.
#include <array>
#include <cmath>
#include <limits>

#include "../core/graph.h"
#include "kernel_util.h"

namespace tg {

namespace {

constexpr int64_t kGrain = 1 << 14;  // about this many input reads per task

using Pair = std::array<int64_t, 2>;  // (h, w)

std::string pair_str(const Pair& p) { return "(" + std::to_string(p[0]) + ", " + std::to_string(p[1]) + ")"; }

// x: (N, C, H, W) or (C, H, W) with non-empty H and W.
void check_pool_input(const TensorSpec& x, const char* what) {
  require_float32(x, what);
  const size_t r = x.shape.size();
  TG_CHECK(r == 3 || r == 4, "ERR_TG_SHAPE", what, " must have shape (N, C, H, W) or (C, H, W), got ",
           shape_str(x.shape));
  TG_CHECK(x.shape[r - 2] > 0 && x.shape[r - 1] > 0, "ERR_TG_SHAPE", what, " must have non-empty H and W, got ",
           shape_str(x.shape));
}

// An int-or-pair attribute: a single value (or a 1-element list) serves both dims.
Pair as_pair(const std::vector<int64_t>& v, const char* name) {
  TG_CHECK(v.size() == 1 || v.size() == 2, "ERR_TG_ARG", "attribute '", name,
           "' must be an integer or a pair of integers, got ", v.size(), " values");
  return {v.front(), v.back()};
}

// Absent or an empty list (PyTorch's stride=[]) means the fallback.
Pair pair_attr(const Attrs& a, const char* name, const Pair& fallback) {
  const std::vector<int64_t> v = a.get_ints(name, {});
  return v.empty() ? fallback : as_pair(v, name);
}

// The leading dims of x as one count of planes, and the plane's H and W.
struct Planes {
  int64_t count, h, w;
};

Planes planes_of(const Shape& s) {
  const size_t r = s.size();
  int64_t count = 1;
  for (size_t d = 0; d + 2 < r; ++d) count *= s[d];
  return {count, s[r - 2], s[r - 1]};
}

Shape with_hw(const Shape& s, int64_t h, int64_t w) {
  Shape out = s;
  out[out.size() - 2] = h;
  out[out.size() - 1] = w;
  return out;
}

// One window along a dim: taps at start, start + dilation, ... below end, all
// inside the input; padded is the undilated window's length clipped to the
// padded input (the count_include_pad divisor of avg_pool2d).
struct Window {
  int64_t start, end, padded;
};
using Windows = std::vector<Window>;

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }

// PyTorch's pooling_output_shape: with ceil_mode the last window must still
// start inside the input or its left padding.
int64_t pooled_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  int64_t out = floor_div(in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0), s) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

Windows pool_windows(int64_t in, int64_t out, int64_t k, int64_t s, int64_t p, int64_t d) {
  Windows ws(static_cast<size_t>(std::max<int64_t>(out, 0)));
  for (int64_t o = 0; o < out; ++o) {
    int64_t start = o * s - p;
    const int64_t end = std::min(start + (k - 1) * d + 1, in);
    const int64_t padded = std::min(start + k, in + p) - start;
    if (start < 0) start += (-start + d - 1) / d * d;  // first tap inside the input
    ws[static_cast<size_t>(o)] = {start, end, padded};
  }
  return ws;
}

// PyTorch's adaptive bins: [floor(o * in / out), ceil((o + 1) * in / out)).
Windows adaptive_windows(int64_t in, int64_t out) {
  Windows ws(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o) {
    const int64_t start = o * in / out, end = ((o + 1) * in + out - 1) / out;
    ws[static_cast<size_t>(o)] = {start, end, end - start};
  }
  return ws;
}

// The geometry of max_pool2d / avg_pool2d from their attributes and the input shape.
struct Pool2d {
  Pair kernel, stride, padding, dilation;
  Windows wh, ww;
};

Pool2d parse_pool(const Attrs& a, const Shape& x, bool dilated) {
  Pool2d p;
  p.kernel = as_pair(a.require_ints("kernel_size"), "kernel_size");
  p.stride = pair_attr(a, "stride", p.kernel);
  p.padding = pair_attr(a, "padding", {0, 0});
  p.dilation = dilated ? pair_attr(a, "dilation", {1, 1}) : Pair{1, 1};
  const bool ceil_mode = a.get_bool("ceil_mode", false);
  TG_CHECK(p.kernel[0] > 0 && p.kernel[1] > 0, "ERR_TG_ARG", "attribute 'kernel_size' must be positive, got ",
           pair_str(p.kernel));
  TG_CHECK(p.stride[0] > 0 && p.stride[1] > 0, "ERR_TG_ARG", "attribute 'stride' must be positive, got ",
           pair_str(p.stride));
  TG_CHECK(p.dilation[0] > 0 && p.dilation[1] > 0, "ERR_TG_ARG", "attribute 'dilation' must be positive, got ",
           pair_str(p.dilation));
  TG_CHECK(p.padding[0] >= 0 && p.padding[1] >= 0 && 2 * p.padding[0] <= p.kernel[0] &&
               2 * p.padding[1] <= p.kernel[1],
           "ERR_TG_ARG", "attribute 'padding' ", pair_str(p.padding),
           " must be non-negative and at most half of kernel_size ", pair_str(p.kernel));
  const Planes pl = planes_of(x);
  const Pair in{pl.h, pl.w};
  Pair out;
  for (size_t d = 0; d < 2; ++d) {
    out[d] = pooled_size(in[d], p.kernel[d], p.stride[d], p.padding[d], p.dilation[d], ceil_mode);
  }
  TG_CHECK(out[0] >= 1 && out[1] >= 1, "ERR_TG_SHAPE", "input of size ", pair_str(in),
           " is too small: kernel_size ", pair_str(p.kernel), ", stride ", pair_str(p.stride), ", padding ",
           pair_str(p.padding), ", dilation ", pair_str(p.dilation), " give an output of size ", pair_str(out));
  p.wh = pool_windows(in[0], out[0], p.kernel[0], p.stride[0], p.padding[0], p.dilation[0]);
  p.ww = pool_windows(in[1], out[1], p.kernel[1], p.stride[1], p.padding[1], p.dilation[1]);
  return p;
}

// Approximate input reads per output row, for the parallel grain.
int64_t row_cost(const Windows& wh, const Windows& ww) {
  const Window& h = wh.front();
  const Window& w = ww.front();
  return std::max<int64_t>(1, static_cast<int64_t>(ww.size()) * (h.end - h.start) * (w.end - w.start));
}

// y, indices: (planes, OH, OW) from x (planes, H, W). Each output is the first
// maximum of its window in row-major order, or its last NaN, and its index is
// h * W + w in the plane, as in PyTorch.
void max_pool(const Tensor& x, const Tensor& y, const Tensor& indices, const Windows& wh, const Windows& ww,
              const Pair& dilation) {
  const Planes pl = planes_of(x.shape());
  const int64_t oh_n = static_cast<int64_t>(wh.size()), ow_n = static_cast<int64_t>(ww.size());
  const int64_t dh = dilation[0], dw = dilation[1], W = pl.w;
  const float* px = x.data<float>();
  float* py = y.data<float>();
  int64_t* pi = indices.data<int64_t>();
  parallel_range(pl.count * oh_n, std::max<int64_t>(1, kGrain / row_cost(wh, ww)), [&](int64_t b, int64_t e) {
    for (int64_t item = b; item < e; ++item) {
      const float* plane = px + (item / oh_n) * pl.h * W;
      const Window& h = wh[static_cast<size_t>(item % oh_n)];
      float* yr = py + item * ow_n;
      int64_t* ir = pi + item * ow_n;
      for (int64_t ow = 0; ow < ow_n; ++ow) {
        const Window& w = ww[static_cast<size_t>(ow)];
        float best = -std::numeric_limits<float>::infinity();
        int64_t at = h.start * W + w.start;
        for (int64_t ih = h.start; ih < h.end; ih += dh) {
          const float* row = plane + ih * W;
          for (int64_t iw = w.start; iw < w.end; iw += dw) {
            const float v = row[iw];
            if (v > best || std::isnan(v)) {
              best = v;
              at = ih * W + iw;
            }
          }
        }
        yr[ow] = best;
        ir[ow] = at;
      }
    }
  });
}

// The divisor of an average window: divisor_override, or the window's size
// with or without the padding it covers.
struct Divisor {
  int64_t override_value;  // 0: none
  bool include_pad;
  int64_t operator()(const Window& h, const Window& w) const {
    if (override_value != 0) return override_value;
    return include_pad ? h.padded * w.padded : (h.end - h.start) * (w.end - w.start);
  }
};

// y: (planes, OH, OW) = window sums of x (planes, H, W) over the divisor.
// Windows are never empty here (see parse_pool's output size), and sums are
// in double as PyTorch's CPU accumulate type.
void avg_pool(const Tensor& x, const Tensor& y, const Windows& wh, const Windows& ww, const Divisor& divisor) {
  const Planes pl = planes_of(x.shape());
  const int64_t oh_n = static_cast<int64_t>(wh.size()), ow_n = static_cast<int64_t>(ww.size()), W = pl.w;
  const float* px = x.data<float>();
  float* py = y.data<float>();
  parallel_range(pl.count * oh_n, std::max<int64_t>(1, kGrain / row_cost(wh, ww)), [&](int64_t b, int64_t e) {
    for (int64_t item = b; item < e; ++item) {
      const float* plane = px + (item / oh_n) * pl.h * W;
      const Window& h = wh[static_cast<size_t>(item % oh_n)];
      float* yr = py + item * ow_n;
      for (int64_t ow = 0; ow < ow_n; ++ow) {
        const Window& w = ww[static_cast<size_t>(ow)];
        double sum = 0.0;
        for (int64_t ih = h.start; ih < h.end; ++ih) {
          const float* row = plane + ih * W;
          for (int64_t iw = w.start; iw < w.end; ++iw) sum += row[iw];
        }
        yr[ow] = static_cast<float>(sum / static_cast<double>(divisor(h, w)));
      }
    }
  });
}

// dx: (planes, H, W) += dy / divisor over each output's window.
void avg_pool_backward(const Tensor& dy, const Tensor& dx, const Windows& wh, const Windows& ww,
                       const Divisor& divisor) {
  const Planes pl = planes_of(dx.shape());
  const int64_t oh_n = static_cast<int64_t>(wh.size()), ow_n = static_cast<int64_t>(ww.size()), W = pl.w;
  const int64_t plane_size = pl.h * W;
  const float* pdy = dy.data<float>();
  float* pdx = dx.data<float>();
  const int64_t cost = std::max<int64_t>(1, plane_size + oh_n * row_cost(wh, ww));
  parallel_range(pl.count, std::max<int64_t>(1, kGrain / cost), [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      float* plane = pdx + c * plane_size;
      std::fill(plane, plane + plane_size, 0.0f);
      for (int64_t oh = 0; oh < oh_n; ++oh) {
        const Window& h = wh[static_cast<size_t>(oh)];
        const float* g = pdy + (c * oh_n + oh) * ow_n;
        for (int64_t ow = 0; ow < ow_n; ++ow) {
          const Window& w = ww[static_cast<size_t>(ow)];
          const float v = g[ow] / static_cast<float>(divisor(h, w));
          for (int64_t ih = h.start; ih < h.end; ++ih) {
            float* row = plane + ih * W;
            for (int64_t iw = w.start; iw < w.end; ++iw) row[iw] += v;
          }
        }
      }
    }
  });
}

std::vector<int64_t> input_shape_attr(const Attrs& a) {
  const Shape s = a.require_ints("input_shape");
  check_pool_input(TensorSpec{s, DType::f32}, "attribute 'input_shape'");
  return s;
}

void require_dy_shape(const TensorSpec& dy, const Shape& expected, const Shape& input_shape) {
  require_float32(dy, "dy");
  TG_CHECK(dy.shape == expected, "ERR_TG_SHAPE", "dy has shape ", shape_str(dy.shape), " but pooling input_shape ",
           shape_str(input_shape), " gives ", shape_str(expected));
}

Attrs with_input_shape(const Attrs& attrs, GraphBuilder& g, ValueId x) {
  Attrs a = attrs;
  a.set("input_shape", std::vector<int64_t>(g.spec(x).shape));
  return a;
}

// ---- max_pool2d(x){kernel_size, stride, padding, dilation, ceil_mode} -> (y, indices) ----

Pool2d parse_max_pool(const Attrs& a, const Shape& x) {
  Pool2d p = parse_pool(a, x, true);
  // With dilation a window can fall between its taps and the input; PyTorch
  // then returns -inf and an index outside the plane, which we refuse.
  for (size_t d = 0; d < 2; ++d) {
    for (const Window& w : d == 0 ? p.wh : p.ww) {
      TG_CHECK(w.start < w.end, "ERR_TG_ARG", "a max_pool2d window along ", d == 0 ? "H" : "W",
               " covers only padding: kernel_size ", pair_str(p.kernel), ", padding ", pair_str(p.padding),
               ", dilation ", pair_str(p.dilation), " on input ", shape_str(x));
    }
  }
  return p;
}

std::vector<TensorSpec> infer_max_pool2d(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  check_pool_input(in[0], "x");
  const Pool2d p = parse_max_pool(attrs, in[0].shape);
  const Shape out = with_hw(in[0].shape, static_cast<int64_t>(p.wh.size()), static_cast<int64_t>(p.ww.size()));
  return {TensorSpec{out, DType::f32}, TensorSpec{out, DType::i64}};
}

// x: (N, C, H, W); y, indices: (N, C, OH, OW)
void cpu_max_pool2d_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                            const RunContext&) {
  const Pool2d p = parse_max_pool(attrs, in[0].shape());
  max_pool(in[0], out[0], out[1], p.wh, p.ww, p.dilation);
}

std::vector<ValueId> grad_max_pool(GraphBuilder& g, const GradContext& c) {
  Attrs a;
  a.set("input_shape", std::vector<int64_t>(g.spec(c.inputs[0]).shape));
  return {g.add1("max_pool2d_backward", {c.grad_outputs[0], c.outputs[1]}, a)};
}

// ---- max_pool2d_backward(dy, indices){input_shape} -> dx: dy scattered to its maxima ----

std::vector<TensorSpec> infer_max_pool2d_backward(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  const Shape s = input_shape_attr(attrs);
  require_float32(in[0], "dy");
  TG_CHECK(in[1].dtype == DType::i64, "ERR_TG_DTYPE", "indices must be i64, got ", dtype_name(in[1].dtype));
  require_same_shape(in[0], "dy", in[1], "indices");
  TG_CHECK(in[0].shape.size() == s.size() && std::equal(s.begin(), s.end() - 2, in[0].shape.begin()),
           "ERR_TG_SHAPE", "dy has shape ", shape_str(in[0].shape), " but input_shape ", shape_str(s),
           " needs the same leading dims");
  return {TensorSpec{s, DType::f32}};
}

// dy, indices: (N, C, OH, OW); dx: (N, C, H, W)
void cpu_max_pool2d_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                             const RunContext&) {
  const Tensor& dy = in[0];
  const Planes pl = planes_of(out[0].shape());
  const int64_t plane_size = pl.h * pl.w;
  const int64_t per_plane = pl.count > 0 ? dy.numel() / pl.count : 0;
  const float* pdy = dy.data<float>();
  const int64_t* pi = in[1].data<int64_t>();
  float* pdx = out[0].data<float>();
  parallel_range(pl.count, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, plane_size + per_plane)),
                 [&](int64_t b, int64_t e) {
                   for (int64_t c = b; c < e; ++c) {
                     float* plane = pdx + c * plane_size;
                     std::fill(plane, plane + plane_size, 0.0f);
                     const float* g = pdy + c * per_plane;
                     const int64_t* idx = pi + c * per_plane;
                     for (int64_t j = 0; j < per_plane; ++j) {
                       TG_CHECK(idx[j] >= 0 && idx[j] < plane_size, "ERR_TG_ARG", "indices holds ", idx[j],
                                ", outside a plane of ", plane_size, " elements");
                       plane[idx[j]] += g[j];
                     }
                   }
                 });
}

// ---- avg_pool2d(x){kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override?} ----

Divisor parse_divisor(const Attrs& a) {
  const int64_t override_value = a.get_int("divisor_override", 0);
  TG_CHECK(!a.has("divisor_override") || override_value != 0, "ERR_TG_ARG",
           "attribute 'divisor_override' must not be zero");
  return {override_value, a.get_bool("count_include_pad", true)};
}

std::vector<TensorSpec> infer_avg_pool2d(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  check_pool_input(in[0], "x");
  parse_divisor(attrs);
  const Pool2d p = parse_pool(attrs, in[0].shape, false);
  return {TensorSpec{with_hw(in[0].shape, static_cast<int64_t>(p.wh.size()), static_cast<int64_t>(p.ww.size())),
                     DType::f32}};
}

// x: (N, C, H, W); y: (N, C, OH, OW)
void cpu_avg_pool2d_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                            const RunContext&) {
  const Pool2d p = parse_pool(attrs, in[0].shape(), false);
  avg_pool(in[0], out[0], p.wh, p.ww, parse_divisor(attrs));
}

std::vector<ValueId> grad_avg_pool(GraphBuilder& g, const GradContext& c) {
  return {g.add1("avg_pool2d_backward", {c.grad_outputs[0]}, with_input_shape(c.attrs, g, c.inputs[0]))};
}

// ---- avg_pool2d_backward(dy){input_shape + avg_pool2d's attrs} -> dx ----

std::vector<TensorSpec> infer_avg_pool2d_backward(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  const Shape s = input_shape_attr(attrs);
  parse_divisor(attrs);
  const Pool2d p = parse_pool(attrs, s, false);
  require_dy_shape(in[0], with_hw(s, static_cast<int64_t>(p.wh.size()), static_cast<int64_t>(p.ww.size())), s);
  return {TensorSpec{s, DType::f32}};
}

// dy: (N, C, OH, OW); dx: (N, C, H, W)
void cpu_avg_pool2d_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                             const RunContext&) {
  const Pool2d p = parse_pool(attrs, out[0].shape(), false);
  avg_pool_backward(in[0], out[0], p.wh, p.ww, parse_divisor(attrs));
}

// ---- adaptive_avg_pool2d / adaptive_max_pool2d(x){output_size} ----

Pair parse_output_size(const Attrs& a) {
  const Pair o = as_pair(a.require_ints("output_size"), "output_size");
  TG_CHECK(o[0] > 0 && o[1] > 0, "ERR_TG_ARG", "attribute 'output_size' must be positive, got ", pair_str(o));
  return o;
}

std::vector<TensorSpec> infer_adaptive_avg_pool2d(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  check_pool_input(in[0], "x");
  const Pair o = parse_output_size(attrs);
  return {TensorSpec{with_hw(in[0].shape, o[0], o[1]), DType::f32}};
}

std::vector<TensorSpec> infer_adaptive_max_pool2d(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  check_pool_input(in[0], "x");
  const Pair o = parse_output_size(attrs);
  const Shape out = with_hw(in[0].shape, o[0], o[1]);
  return {TensorSpec{out, DType::f32}, TensorSpec{out, DType::i64}};
}

// x: (N, C, H, W); y: (N, C, oh, ow)
void cpu_adaptive_avg_pool2d_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                                     const RunContext&) {
  const Planes x = planes_of(in[0].shape()), y = planes_of(out[0].shape());
  avg_pool(in[0], out[0], adaptive_windows(x.h, y.h), adaptive_windows(x.w, y.w), Divisor{0, false});
}

// x: (N, C, H, W); y, indices: (N, C, oh, ow)
void cpu_adaptive_max_pool2d_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                                     const RunContext&) {
  const Planes x = planes_of(in[0].shape()), y = planes_of(out[0].shape());
  max_pool(in[0], out[0], out[1], adaptive_windows(x.h, y.h), adaptive_windows(x.w, y.w), {1, 1});
}

std::vector<ValueId> grad_adaptive_avg_pool(GraphBuilder& g, const GradContext& c) {
  Attrs a;
  a.set("input_shape", std::vector<int64_t>(g.spec(c.inputs[0]).shape));
  return {g.add1("adaptive_avg_pool2d_backward", {c.grad_outputs[0]}, a)};
}

// ---- adaptive_avg_pool2d_backward(dy){input_shape} -> dx; the output size is dy's ----

std::vector<TensorSpec> infer_adaptive_avg_pool2d_backward(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  const Shape s = input_shape_attr(attrs);
  require_float32(in[0], "dy");
  TG_CHECK(in[0].shape.size() == s.size() && std::equal(s.begin(), s.end() - 2, in[0].shape.begin()) &&
               in[0].shape[s.size() - 2] > 0 && in[0].shape[s.size() - 1] > 0,
           "ERR_TG_SHAPE", "dy has shape ", shape_str(in[0].shape), " but input_shape ", shape_str(s),
           " needs the same leading dims and a non-empty output size");
  return {TensorSpec{s, DType::f32}};
}

// dy: (N, C, oh, ow); dx: (N, C, H, W)
void cpu_adaptive_avg_pool2d_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                                      const RunContext&) {
  const Planes x = planes_of(out[0].shape()), y = planes_of(in[0].shape());
  avg_pool_backward(in[0], out[0], adaptive_windows(x.h, y.h), adaptive_windows(x.w, y.w), Divisor{0, false});
}

}  // namespace

TG_REGISTER_OP({"max_pool2d", {"x"}, 2, infer_max_pool2d, cpu_max_pool2d_forward, grad_max_pool,
                "(y, indices i64) of 2-D max pooling of x (N, C, H, W), as F.max_pool2d(return_indices=True); "
                "indices are h * W + w in the input plane; attrs kernel_size, stride, padding, dilation, ceil_mode"});
TG_REGISTER_OP({"max_pool2d_backward", {"dy", "indices"}, 1, infer_max_pool2d_backward, cpu_max_pool2d_backward,
                nullptr,
                "dx of shape input_shape: dy added at the plane positions `indices` (from max_pool2d or "
                "adaptive_max_pool2d)"});
TG_REGISTER_OP({"avg_pool2d", {"x"}, 1, infer_avg_pool2d, cpu_avg_pool2d_forward, grad_avg_pool,
                "2-D average pooling of x (N, C, H, W), as F.avg_pool2d; attrs kernel_size, stride, padding, "
                "ceil_mode, count_include_pad, divisor_override"});
TG_REGISTER_OP({"avg_pool2d_backward", {"dy"}, 1, infer_avg_pool2d_backward, cpu_avg_pool2d_backward, nullptr,
                "the gradient of avg_pool2d, shaped input_shape; attrs as avg_pool2d's"});
TG_REGISTER_OP({"adaptive_avg_pool2d", {"x"}, 1, infer_adaptive_avg_pool2d, cpu_adaptive_avg_pool2d_forward,
                grad_adaptive_avg_pool,
                "averages of x (N, C, H, W) over output_size (oh, ow) bins, as F.adaptive_avg_pool2d"});
TG_REGISTER_OP({"adaptive_avg_pool2d_backward", {"dy"}, 1, infer_adaptive_avg_pool2d_backward,
                cpu_adaptive_avg_pool2d_backward, nullptr,
                "the gradient of adaptive_avg_pool2d, shaped input_shape; the output size is dy's"});
TG_REGISTER_OP({"adaptive_max_pool2d", {"x"}, 2, infer_adaptive_max_pool2d, cpu_adaptive_max_pool2d_forward,
                grad_max_pool,
                "(y, indices i64) of maxima of x (N, C, H, W) over output_size (oh, ow) bins, as "
                "F.adaptive_max_pool2d(return_indices=True); indices are h * W + w in the input plane"});

}  // namespace tg
