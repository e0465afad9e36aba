// Upsampling (any resize) of the last two dims of x, (N, C, H, W) or (C, H, W),
// as F.interpolate with mode 'nearest' or 'bilinear' in PyTorch 1.13: the
// output size is floor(in * scale_factor) or `size`, and a given scale_factor
// (not in / out) sets the source coordinates unless align_corners. Source
// indices and weights are computed in float like PyTorch's CPU kernels. The
// forward splits over (plane, output row); the backward scatters into one
// input plane per task, in a fixed order whatever the thread count.
#include <array>
#include <cmath>
#include <cstring>
#include <string>

#include "../core/graph.h"
#include "kernel_util.h"

namespace tg {

namespace {

constexpr int64_t kGrain = 1 << 14;

// Source of one output index along a dim: in0 * (1 - l1) + in1 * l1 (nearest: in0 only).
struct Tap {
  int64_t in0, in1;
  float l0, l1;
};

struct Axis {
  int64_t in, out;
  double scale;  // the given scale_factor, 0 when the size was given
};

struct Upsample {
  bool bilinear, align_corners;
  Axis h, w;
};

// scale_factor as (sh, sw): a number, or a list of one or two.
std::array<double, 2> scale_pair(const Attrs& a) {
  const AttrValue& v = a.values().at("scale_factor");
  std::vector<double> s;
  if (const auto* d = std::get_if<double>(&v)) {
    s = {*d};
  } else if (const auto* i = std::get_if<int64_t>(&v)) {
    s = {static_cast<double>(*i)};
  } else {
    s = a.get_floats("scale_factor", {});
  }
  TG_CHECK(s.size() == 1 || s.size() == 2, "ERR_TG_ARG",
           "attribute 'scale_factor' must be a number or a pair of numbers, got ", s.size(), " values");
  TG_CHECK(s.front() > 0 && s.back() > 0 && std::isfinite(s.front()) && std::isfinite(s.back()), "ERR_TG_ARG",
           "attribute 'scale_factor' must be positive, got (", s.front(), ", ", s.back(), ")");
  return {s.front(), s.back()};
}

// `what` names x in messages: the input, or the backward's input_shape.
Upsample parse_upsample(const Attrs& a, const Shape& x, const char* what) {
  const size_t r = x.size();
  TG_CHECK(r == 3 || r == 4, "ERR_TG_SHAPE", what, " must have shape (N, C, H, W) or (C, H, W), got ", shape_str(x));
  TG_CHECK(x[r - 2] > 0 && x[r - 1] > 0, "ERR_TG_SHAPE", what, " must have non-empty H and W, got ", shape_str(x));
  const std::string mode = a.get_string("mode", "nearest");
  TG_CHECK(mode == "nearest" || mode == "bilinear", "ERR_TG_ARG",
           "attribute 'mode' must be 'nearest' or 'bilinear', got '", mode, "'");
  Upsample u;
  u.bilinear = mode == "bilinear";
  TG_CHECK(u.bilinear || !a.has("align_corners"), "ERR_TG_ARG",
           "attribute 'align_corners' can only be set with mode 'bilinear'");
  u.align_corners = a.get_bool("align_corners", false);
  TG_CHECK(a.has("size") != a.has("scale_factor"), "ERR_TG_ARG",
           "exactly one of the attributes 'size' and 'scale_factor' must be given");
  u.h = {x[r - 2], 0, 0.0};
  u.w = {x[r - 1], 0, 0.0};
  if (a.has("size")) {
    const std::vector<int64_t> s = a.get_ints("size", {});
    TG_CHECK(s.size() == 1 || s.size() == 2, "ERR_TG_ARG",
             "attribute 'size' must be an integer or a pair of integers, got ", s.size(), " values");
    u.h.out = s.front();
    u.w.out = s.back();
  } else {
    const std::array<double, 2> s = scale_pair(a);
    u.h.scale = s[0];
    u.w.scale = s[1];
    u.h.out = static_cast<int64_t>(std::floor(static_cast<double>(u.h.in) * s[0]));
    u.w.out = static_cast<int64_t>(std::floor(static_cast<double>(u.w.in) * s[1]));
  }
  TG_CHECK(u.h.out > 0 && u.w.out > 0, "ERR_TG_ARG", "the output size (", u.h.out, ", ", u.w.out,
           ") must be positive");
  return u;
}

Shape output_shape(const Shape& x, const Upsample& u) {
  Shape s = x;
  s[s.size() - 2] = u.h.out;
  s[s.size() - 1] = u.w.out;
  return s;
}

// PyTorch's compute_scales_value: in / out, or 1 / scale_factor when given.
float source_scale(const Axis& a) {
  return a.scale > 0 ? static_cast<float>(1.0 / a.scale) : static_cast<float>(a.in) / static_cast<float>(a.out);
}

std::vector<Tap> taps(const Axis& a, const Upsample& u) {
  std::vector<Tap> t(static_cast<size_t>(a.out));
  if (!u.bilinear) {
    // floor(o * scale), clamped to the input: PyTorch 1.13's NCHW forward. Its
    // backward (and its channels-last forward, which it also picks for C == 1)
    // instead copies when out == in and halves o when out == 2 in, which only
    // differs for a scale_factor that rounds to those sizes (1.1, 2.03); ours
    // keeps the backward the exact adjoint of the forward.
    const float scale = source_scale(a);
    for (int64_t o = 0; o < a.out; ++o) {
      const int64_t i = std::min(static_cast<int64_t>(std::floor(static_cast<float>(o) * scale)), a.in - 1);
      t[static_cast<size_t>(o)] = {i, i, 1.0f, 0.0f};
    }
    return t;
  }
  // PyTorch's area_pixel_compute_scale and compute_source_index_and_lambda.
  const float scale = u.align_corners
                          ? (a.out > 1 ? static_cast<float>(a.in - 1) / static_cast<float>(a.out - 1) : 0.0f)
                          : source_scale(a);
  for (int64_t o = 0; o < a.out; ++o) {
    if (a.out == a.in) {
      t[static_cast<size_t>(o)] = {o, o, 1.0f, 0.0f};
      continue;
    }
    const float src = u.align_corners ? scale * static_cast<float>(o)
                                      : std::max(scale * (static_cast<float>(o) + 0.5f) - 0.5f, 0.0f);
    const int64_t i0 = static_cast<int64_t>(src);
    const int64_t i1 = i0 + (i0 < a.in - 1 ? 1 : 0);
    const float l1 = std::min(std::max(src - static_cast<float>(i0), 0.0f), 1.0f);
    t[static_cast<size_t>(o)] = {i0, i1, 1.0f - l1, l1};
  }
  return t;
}

// ---- upsample(x){scale_factor | size, mode, align_corners} ----

std::vector<TensorSpec> infer_upsample(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  require_float32(in[0], "x");
  return {TensorSpec{output_shape(in[0].shape, parse_upsample(attrs, in[0].shape, "x")), DType::f32}};
}

// x: (N, C, H, W); y: (N, C, OH, OW)
void cpu_upsample_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                          const RunContext&) {
  const Upsample u = parse_upsample(attrs, in[0].shape(), "x");
  const std::vector<Tap> th = taps(u.h, u), tw = taps(u.w, u);
  const int64_t H = u.h.in, W = u.w.in, OH = u.h.out, OW = u.w.out;
  const float* px = in[0].data<float>();
  float* py = out[0].data<float>();
  const int64_t rows = out[0].numel() / OW;
  parallel_range(rows, std::max<int64_t>(1, kGrain / (4 * OW)), [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      const float* plane = px + (row / OH) * H * W;
      const Tap& h = th[static_cast<size_t>(row % OH)];
      const float* r0 = plane + h.in0 * W;
      float* y = py + row * OW;
      if (!u.bilinear) {
        // Upsampling repeats source rows: copy the row this task just wrote.
        if (row > b && row % OH != 0 && th[static_cast<size_t>(row % OH - 1)].in0 == h.in0) {
          std::memcpy(y, y - OW, static_cast<size_t>(OW) * sizeof(float));
          continue;
        }
        for (int64_t ow = 0; ow < OW; ++ow) y[ow] = r0[tw[static_cast<size_t>(ow)].in0];
        continue;
      }
      const float* r1 = plane + h.in1 * W;
      for (int64_t ow = 0; ow < OW; ++ow) {
        const Tap& w = tw[static_cast<size_t>(ow)];
        y[ow] = h.l0 * (w.l0 * r0[w.in0] + w.l1 * r0[w.in1]) + h.l1 * (w.l0 * r1[w.in0] + w.l1 * r1[w.in1]);
      }
    }
  });
}

std::vector<ValueId> grad_upsample(GraphBuilder& g, const GradContext& c) {
  Attrs a = c.attrs;
  a.set("input_shape", std::vector<int64_t>(g.spec(c.inputs[0]).shape));
  return {g.add1("upsample_backward", {c.grad_outputs[0]}, a)};
}

// ---- upsample_backward(dy){input_shape + upsample's attrs} -> dx ----

std::vector<TensorSpec> infer_upsample_backward(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  const Shape s = attrs.require_ints("input_shape");
  const Shape expected = output_shape(s, parse_upsample(attrs, s, "attribute 'input_shape'"));
  require_float32(in[0], "dy");
  TG_CHECK(in[0].shape == expected, "ERR_TG_SHAPE", "dy has shape ", shape_str(in[0].shape),
           " but upsampling input_shape ", shape_str(s), " gives ", shape_str(expected));
  return {TensorSpec{s, DType::f32}};
}

// dy: (N, C, OH, OW); dx: (N, C, H, W)
void cpu_upsample_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                           const RunContext&) {
  const Upsample u = parse_upsample(attrs, out[0].shape(), "attribute 'input_shape'");
  const std::vector<Tap> th = taps(u.h, u), tw = taps(u.w, u);
  const int64_t H = u.h.in, W = u.w.in, OH = u.h.out, OW = u.w.out;
  const float* pdy = in[0].data<float>();
  float* pdx = out[0].data<float>();
  const int64_t planes = out[0].numel() / (H * W);
  parallel_range(planes, std::max<int64_t>(1, kGrain / (H * W + 4 * OH * OW)), [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      float* plane = pdx + c * H * W;
      std::fill(plane, plane + H * W, 0.0f);
      for (int64_t oh = 0; oh < OH; ++oh) {
        const Tap& h = th[static_cast<size_t>(oh)];
        const float* g = pdy + (c * OH + oh) * OW;
        float* r0 = plane + h.in0 * W;
        if (!u.bilinear) {
          for (int64_t ow = 0; ow < OW; ++ow) r0[tw[static_cast<size_t>(ow)].in0] += g[ow];
          continue;
        }
        float* r1 = plane + h.in1 * W;
        for (int64_t ow = 0; ow < OW; ++ow) {
          const Tap& w = tw[static_cast<size_t>(ow)];
          const float g0 = h.l0 * g[ow], g1 = h.l1 * g[ow];
          r0[w.in0] += g0 * w.l0;
          r0[w.in1] += g0 * w.l1;
          r1[w.in0] += g1 * w.l0;
          r1[w.in1] += g1 * w.l1;
        }
      }
    }
  });
}

}  // namespace

TG_REGISTER_OP({"upsample", {"x"}, 1, infer_upsample, cpu_upsample_forward, grad_upsample,
                "x (N, C, H, W) resized to `size` (oh, ow) or by `scale_factor`, as F.interpolate; "
                "attrs mode 'nearest' (default) or 'bilinear', align_corners (bilinear only)"});
TG_REGISTER_OP({"upsample_backward", {"dy"}, 1, infer_upsample_backward, cpu_upsample_backward, nullptr,
                "the gradient of upsample, shaped input_shape; attrs as upsample's"});

}  // namespace tg
