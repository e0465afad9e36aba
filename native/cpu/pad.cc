// Padding of the last dim, or the last two, as F.pad with mode 'constant'
// (negative pads crop), 'reflect' (mirror without repeating the edge; pads
// must be smaller than the dim) or 'replicate' (repeat the edge). The forward
// splits over output rows; the backward of 'constant' is the crop (a pad by
// the negated pads), that of reflect/replicate adds each dy element into its
// source, one plane per task, in a fixed order whatever the thread count.
#include <cstring>
#include <string>

#include "../core/graph.h"
#include "kernel_util.h"

namespace tg {

namespace {

constexpr int64_t kGrain = 1 << 15;

enum class Mode { constant, reflect, replicate };

// pads as (before, after) along each of the two innermost dims; for a 2-pad
// spec the "H" dim is a unit dim folded into the planes.
struct Pad {
  Mode mode;
  float value;
  int64_t top, bottom, left, right;
  int64_t planes, h, w;  // x viewed as (planes, h, w)
};

// `what` names x in messages: the input, or the backward's input_shape.
Pad parse_pad(const Attrs& a, const Shape& x, const char* what) {
  const std::vector<int64_t> pads = a.require_ints("pads");
  TG_CHECK(pads.size() == 2 || pads.size() == 4, "ERR_TG_ARG",
           "attribute 'pads' must be [left, right] or [left, right, top, bottom], got ", pads.size(), " values");
  const size_t dims = pads.size() / 2;
  TG_CHECK(x.size() >= dims, "ERR_TG_SHAPE", what, " of shape ", shape_str(x), " has fewer than ", dims,
           " dims to pad");
  const std::string mode = a.get_string("mode", "constant");
  Pad p{};
  if (mode == "constant") {
    p.mode = Mode::constant;
  } else if (mode == "reflect") {
    p.mode = Mode::reflect;
  } else if (mode == "replicate") {
    p.mode = Mode::replicate;
  } else {
    fail("ERR_TG_ARG", "attribute 'mode' must be 'constant', 'reflect' or 'replicate', got '", mode, "'");
  }
  p.value = static_cast<float>(a.get_float("value", 0.0));
  TG_CHECK(p.mode == Mode::constant || p.value == 0.0f, "ERR_TG_ARG", "mode '", mode,
           "' takes no attribute 'value' (got ", p.value, ")");
  p.left = pads[0];
  p.right = pads[1];
  p.top = dims == 2 ? pads[2] : 0;
  p.bottom = dims == 2 ? pads[3] : 0;
  const size_t r = x.size();
  p.w = x[r - 1];
  p.h = dims == 2 ? x[r - 2] : 1;
  p.planes = 1;
  for (size_t d = 0; d + dims < r; ++d) p.planes *= x[d];

  for (size_t k = 0; k < dims; ++k) {
    const int64_t before = pads[2 * k], after = pads[2 * k + 1];
    const size_t d = r - 1 - k;
    if (p.mode == Mode::constant) {
      TG_CHECK(x[d] + before + after > 0, "ERR_TG_ARG", "pads (", before, ", ", after, ") on dim ", d, " of ", what,
               " ", shape_str(x), " leave nothing");
      continue;
    }
    TG_CHECK(before >= 0 && after >= 0, "ERR_TG_ARG", "mode '", mode, "' needs non-negative pads, got (", before,
             ", ", after, ") on dim ", d);
    TG_CHECK(x[d] > 0, "ERR_TG_SHAPE", "mode '", mode, "' cannot pad the empty dim ", d, " of ", what, " ",
             shape_str(x));
    TG_CHECK(p.mode != Mode::reflect || (before < x[d] && after < x[d]), "ERR_TG_ARG", "reflect pads (", before,
             ", ", after, ") must be smaller than dim ", d, " of ", what, " ", shape_str(x));
  }
  return p;
}

Shape padded_shape(const Shape& x, const Pad& p, bool two_dims) {
  Shape s = x;
  s[s.size() - 1] += p.left + p.right;
  if (two_dims) s[s.size() - 2] += p.top + p.bottom;
  return s;
}

bool pads_two_dims(const Attrs& a) { return a.get_ints("pads", {}).size() == 4; }

// The source of output index o along a dim of size n padded by `before`; -1
// (constant mode) where o reads the fill value.
int64_t source(Mode mode, int64_t o, int64_t before, int64_t n) {
  const int64_t i = o - before;
  switch (mode) {
    case Mode::constant:
      return i >= 0 && i < n ? i : -1;
    case Mode::reflect:
      return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i);
    case Mode::replicate:
      return std::min(std::max<int64_t>(i, 0), n - 1);
  }
  return -1;
}

// Source columns of an output row, with [mid0, mid1) the run of output columns
// that copy the input contiguously (source = ow - left).
struct Columns {
  std::vector<int64_t> src;
  int64_t mid0, mid1;
};

Columns columns(const Pad& p, int64_t ow_n) {
  Columns c{std::vector<int64_t>(static_cast<size_t>(ow_n)), std::max<int64_t>(p.left, 0),
            std::min(ow_n, p.w + p.left)};
  c.mid1 = std::max(c.mid0, c.mid1);
  for (int64_t o = 0; o < ow_n; ++o) c.src[static_cast<size_t>(o)] = source(p.mode, o, p.left, p.w);
  return c;
}

// y: (planes, OH, OW) = x: (planes, H, W) padded by p.
void pad_planes(const float* px, float* py, const Pad& p) {
  const int64_t oh_n = p.h + p.top + p.bottom, ow_n = p.w + p.left + p.right;
  const Columns cols = columns(p, ow_n);
  parallel_range(p.planes * oh_n, std::max<int64_t>(1, kGrain / ow_n), [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      float* y = py + row * ow_n;
      const int64_t sh = source(p.mode, row % oh_n, p.top, p.h);
      if (sh < 0) {
        std::fill(y, y + ow_n, p.value);
        continue;
      }
      const float* x = px + ((row / oh_n) * p.h + sh) * p.w;
      for (int64_t o = 0; o < cols.mid0; ++o) {
        const int64_t s = cols.src[static_cast<size_t>(o)];
        y[o] = s < 0 ? p.value : x[s];
      }
      std::memcpy(y + cols.mid0, x + cols.mid0 - p.left, static_cast<size_t>(cols.mid1 - cols.mid0) * sizeof(float));
      for (int64_t o = cols.mid1; o < ow_n; ++o) {
        const int64_t s = cols.src[static_cast<size_t>(o)];
        y[o] = s < 0 ? p.value : x[s];
      }
    }
  });
}

// ---- pad(x){pads, mode, value} ----

std::vector<TensorSpec> infer_pad(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  require_float32(in[0], "x");
  const Shape out = padded_shape(in[0].shape, parse_pad(attrs, in[0].shape, "x"), pads_two_dims(attrs));
  return {TensorSpec{out, DType::f32}};
}

// x: (..., H, W); y: (..., H + top + bottom, W + left + right)
void cpu_pad_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                     const RunContext&) {
  pad_planes(in[0].data<float>(), out[0].data<float>(), parse_pad(attrs, in[0].shape(), "x"));
}

std::vector<ValueId> grad_pad(GraphBuilder& g, const GradContext& c) {
  Attrs a = c.attrs;
  a.set("input_shape", std::vector<int64_t>(g.spec(c.inputs[0]).shape));
  return {g.add1("pad_backward", {c.grad_outputs[0]}, a)};
}

// ---- pad_backward(dy){input_shape + pad's attrs} -> dx ----

std::vector<TensorSpec> infer_pad_backward(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  const Shape s = attrs.require_ints("input_shape");
  const Shape expected = padded_shape(s, parse_pad(attrs, s, "input_shape"), pads_two_dims(attrs));
  require_float32(in[0], "dy");
  TG_CHECK(in[0].shape == expected, "ERR_TG_SHAPE", "dy has shape ", shape_str(in[0].shape),
           " but padding input_shape ", shape_str(s), " gives ", shape_str(expected));
  return {TensorSpec{s, DType::f32}};
}

// dy: (..., OH, OW); dx: (..., H, W)
void cpu_pad_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                      const RunContext&) {
  const Pad p = parse_pad(attrs, out[0].shape(), "input_shape");
  const int64_t oh_n = p.h + p.top + p.bottom, ow_n = p.w + p.left + p.right;
  const float* pdy = in[0].data<float>();
  float* pdx = out[0].data<float>();
  if (p.mode == Mode::constant) {
    // dx is dy cropped back to x: dy padded by the negated pads, with zeros
    // where x's elements were cropped away.
    Pad crop{Mode::constant, 0.0f, -p.top, -p.bottom, -p.left, -p.right, p.planes, oh_n, ow_n};
    pad_planes(pdy, pdx, crop);
    return;
  }
  const Columns cols = columns(p, ow_n);
  const int64_t plane_size = p.h * p.w;
  parallel_range(p.planes, std::max<int64_t>(1, kGrain / (plane_size + oh_n * ow_n)), [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      float* plane = pdx + c * plane_size;
      std::fill(plane, plane + plane_size, 0.0f);
      for (int64_t oh = 0; oh < oh_n; ++oh) {
        float* x = plane + source(p.mode, oh, p.top, p.h) * p.w;
        const float* g = pdy + (c * oh_n + oh) * ow_n;
        for (int64_t o = 0; o < cols.mid0; ++o) x[cols.src[static_cast<size_t>(o)]] += g[o];
        for (int64_t o = cols.mid0; o < cols.mid1; ++o) x[o - p.left] += g[o];
        for (int64_t o = cols.mid1; o < ow_n; ++o) x[cols.src[static_cast<size_t>(o)]] += g[o];
      }
    }
  });
}

}  // namespace

TG_REGISTER_OP({"pad", {"x"}, 1, infer_pad, cpu_pad_forward, grad_pad,
                "x padded as F.pad: pads [left, right] for the last dim or [left, right, top, bottom] for the last "
                "two; mode 'constant' (value; negative pads crop), 'reflect' or 'replicate'"});
TG_REGISTER_OP({"pad_backward", {"dy"}, 1, infer_pad_backward, cpu_pad_backward, nullptr,
                "the gradient of pad, shaped input_shape; reflect/replicate add into the mirrored sources; attrs "
                "as pad's"});

}  // namespace tg
