// concat and slice, as torch.cat and Python slicing along one axis
// (x[..., start:end:step, ...], step > 0), with slice_backward, which puts dy
// back into zeros shaped like the sliced input. concat's gradient is one
// slice of dy per input; split is likewise several slices. Neither op looks at
// the values, so both take any dtype and copy by element size.
#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "../core/graph.h"
#include "kernel_util.h"

namespace tg {

namespace {

constexpr int64_t kGrain = 1 << 14;       // elements per parallel chunk
constexpr int64_t kGrainBytes = 1 << 16;  // bytes per parallel chunk of a memcpy

int64_t prod(const Shape& s, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t d = begin; d < end; ++d) n *= s[d];
  return n;
}

// ---- concat(x0, x1?, ..., x15?){axis=0} ----
// The registry takes a fixed list of inputs, so concat joins at most 16
// tensors; join more with nested concats.

std::vector<TensorSpec> infer_concat(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  const TensorSpec& first = in[0];
  TG_CHECK(!first.shape.empty(), "ERR_TG_SHAPE", "x0 is a scalar; concat needs tensors of at least 1 dim");
  const int64_t rank = static_cast<int64_t>(first.shape.size());
  const int64_t axis = normalize_axis(attrs.get_int("axis", 0), rank, "attribute 'axis'");
  Shape out = first.shape;
  for (size_t i = 1; i < in.size(); ++i) {
    const std::string name = "x" + std::to_string(i);
    TG_CHECK(in[i].dtype == first.dtype, "ERR_TG_DTYPE", name, " is ", dtype_name(in[i].dtype), " but x0 is ",
             dtype_name(first.dtype));
    bool ok = in[i].shape.size() == first.shape.size();
    for (int64_t d = 0; ok && d < rank; ++d) ok = d == axis || in[i].shape[d] == first.shape[d];
    TG_CHECK(ok, "ERR_TG_SHAPE", name, " has shape ", shape_str(in[i].shape), " but x0 has shape ",
             shape_str(first.shape), "; they may differ only along axis ", axis);
    out[axis] += in[i].shape[axis];
  }
  return {TensorSpec{out, first.dtype}};
}

// Each output row (the dims before axis) is the inputs' rows laid end to end.
// Viewed as bytes: input i contributes seg[i] bytes at offset off[i] of every row.
void cpu_concat_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                        const RunContext&) {
  const Tensor& y = out[0];
  const size_t axis = static_cast<size_t>(normalize_axis(attrs.get_int("axis", 0), y.dim(), "attribute 'axis'"));
  const int64_t rows = prod(y.shape(), 0, axis);
  const int64_t esize = static_cast<int64_t>(dtype_size(y.dtype()));
  const size_t k = in.size();
  std::vector<int64_t> seg(k), off(k + 1, 0);
  std::vector<const char*> src(k);
  for (size_t i = 0; i < k; ++i) {
    seg[i] = prod(in[i].shape(), axis, in[i].shape().size()) * esize;
    off[i + 1] = off[i] + seg[i];
    src[i] = static_cast<const char*>(in[i].raw());
  }
  const int64_t row = off[k];
  char* dst = static_cast<char*>(y.raw());
  for_row_pieces(rows, row, kGrainBytes, [&](int64_t r, int64_t b, int64_t e) {
    size_t i = 0;
    while (off[i + 1] <= b) ++i;
    for (int64_t pos = b; pos < e; ++i) {
      const int64_t n = std::min(e, off[i + 1]) - pos;
      if (n > 0) std::memcpy(dst + r * row + pos, src[i] + r * seg[i] + (pos - off[i]), static_cast<size_t>(n));
      pos += n;  // n is 0 for an empty input
    }
  });
}

std::vector<ValueId> grad_concat(GraphBuilder& g, const GradContext& c) {
  const int64_t rank = static_cast<int64_t>(g.spec(c.inputs[0]).shape.size());
  const int64_t axis = normalize_axis(c.attrs.get_int("axis", 0), rank, "attribute 'axis'");
  std::vector<ValueId> grads(c.inputs.size(), kNoValue);
  int64_t start = 0;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const int64_t size = g.spec(c.inputs[i]).shape[static_cast<size_t>(axis)];
    if (c.needs_grad[i]) {
      Attrs a;
      a.set("axis", axis);
      a.set("start", start);
      a.set("end", start + size);
      grads[i] = g.add1("slice", {c.grad_outputs[0]}, a);
    }
    start += size;
  }
  return grads;
}

// ---- slice(x){axis=0, start=0, end=size, step=1} ----

// x viewed as (outer, n, inner) around axis; the slice keeps len positions
// start, start + step, ... of the middle dim.
struct SliceLayout {
  int64_t axis, outer, n, inner, start, step, len;
};

// Python's slice.indices for step > 0: negative bounds count from the end,
// and then both are clamped to [0, n].
SliceLayout slice_layout(const Shape& shape, const Attrs& attrs) {
  TG_CHECK(!shape.empty(), "ERR_TG_SHAPE", "x is a scalar; slice needs a tensor of at least 1 dim");
  SliceLayout s{};
  s.axis = normalize_axis(attrs.get_int("axis", 0), static_cast<int64_t>(shape.size()), "attribute 'axis'");
  const size_t ax = static_cast<size_t>(s.axis);
  s.outer = prod(shape, 0, ax);
  s.n = shape[ax];
  s.inner = prod(shape, ax + 1, shape.size());
  s.step = attrs.get_int("step", 1);
  TG_CHECK(s.step > 0, "ERR_TG_ARG", "attribute 'step' must be positive, got ", s.step);
  auto clamp = [&](int64_t v) {
    if (v < 0) v += s.n;
    return std::min(std::max<int64_t>(v, 0), s.n);
  };
  s.start = clamp(attrs.get_int("start", 0));
  const int64_t end = clamp(attrs.get_int("end", std::numeric_limits<int64_t>::max()));
  s.len = end > s.start ? (end - s.start + s.step - 1) / s.step : 0;
  return s;
}

Shape sliced_shape(Shape shape, const SliceLayout& s) {
  shape[static_cast<size_t>(s.axis)] = s.len;
  return shape;
}

// Copies between the full tensor (outer, n, inner) and its slice (outer, len,
// inner), in the direction given. The slice is walked as rows that are
// contiguous in it and evenly strided in the full tensor: whole (len * inner)
// blocks for step 1, single columns of len elements when inner is 1, and
// inner-long rows otherwise.
template <typename T>
void copy_slice(const SliceLayout& s, T* full, T* part, bool to_part) {
  int64_t rows, len, stride;
  if (s.step == 1) {
    rows = s.outer, len = s.len * s.inner, stride = 1;
  } else if (s.inner == 1) {
    rows = s.outer, len = s.len, stride = s.step;
  } else {
    rows = s.outer * s.len, len = s.inner, stride = 1;
  }
  auto full_base = [&](int64_t r) {
    if (s.step == 1 || s.inner == 1) return (r * s.n + s.start) * s.inner;
    return ((r / s.len) * s.n + s.start + (r % s.len) * s.step) * s.inner;
  };
  for_row_pieces(rows, len, kGrain, [&](int64_t r, int64_t b, int64_t e) {
    T* f = full + full_base(r);
    T* p = part + r * len;
    if (stride == 1) {
      if (to_part) {
        std::copy(f + b, f + e, p + b);
      } else {
        std::copy(p + b, p + e, f + b);
      }
    } else if (to_part) {
      for (int64_t j = b; j < e; ++j) p[j] = f[j * stride];
    } else {
      for (int64_t j = b; j < e; ++j) f[j * stride] = p[j];
    }
  });
}

void copy_slice_any(const SliceLayout& s, const Tensor& full, const Tensor& part, bool to_part) {
  switch (dtype_size(full.dtype())) {
    case 1: return copy_slice(s, full.data<uint8_t>(), part.data<uint8_t>(), to_part);
    case 2: return copy_slice(s, full.data<uint16_t>(), part.data<uint16_t>(), to_part);
    case 4: return copy_slice(s, full.data<uint32_t>(), part.data<uint32_t>(), to_part);
    case 8: return copy_slice(s, full.data<uint64_t>(), part.data<uint64_t>(), to_part);
    default: fail("ERR_TG_DTYPE", "slice: unsupported element size for ", dtype_name(full.dtype()));
  }
}

std::vector<TensorSpec> infer_slice(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  return {TensorSpec{sliced_shape(in[0].shape, slice_layout(in[0].shape, attrs)), in[0].dtype}};
}

// x: (outer, n, inner) -> y: (outer, len, inner)
void cpu_slice_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                       const RunContext&) {
  copy_slice_any(slice_layout(in[0].shape(), attrs), in[0], out[0], true);
}

std::vector<ValueId> grad_slice(GraphBuilder& g, const GradContext& c) {
  Attrs a = c.attrs;
  a.set("input_shape", std::vector<int64_t>(g.spec(c.inputs[0]).shape));
  return {g.add1("slice_backward", {c.grad_outputs[0]}, a)};
}

// ---- slice_backward(dy){input_shape, axis, start, end, step} ----

std::vector<TensorSpec> infer_slice_backward(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  const Shape shape = attrs.require_ints("input_shape");
  for (int64_t d : shape) {
    TG_CHECK(d >= 0, "ERR_TG_ARG", "attribute 'input_shape' ", shape_str(shape), " has a negative dimension");
  }
  const Shape want = sliced_shape(shape, slice_layout(shape, attrs));
  TG_CHECK(in[0].shape == want, "ERR_TG_SHAPE", "dy has shape ", shape_str(in[0].shape), " but slicing ",
           shape_str(shape), " gives ", shape_str(want));
  return {TensorSpec{shape, in[0].dtype}};
}

// dy: (outer, len, inner) -> dx: (outer, n, inner), zero off the slice. The
// zero fill also covers the slice; for step 1 only the gaps are cleared.
void cpu_slice_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                        const RunContext&) {
  const Tensor& dx = out[0];
  const SliceLayout s = slice_layout(dx.shape(), attrs);
  const int64_t esize = static_cast<int64_t>(dtype_size(dx.dtype()));
  char* base = static_cast<char*>(dx.raw());
  if (s.step == 1) {
    const int64_t row = s.n * s.inner * esize;
    const int64_t lo = s.start * s.inner * esize, hi = (s.start + s.len) * s.inner * esize;
    for_row_pieces(s.outer, row, kGrainBytes, [&](int64_t r, int64_t b, int64_t e) {
      char* p = base + r * row;
      if (b < lo) std::memset(p + b, 0, static_cast<size_t>(std::min(e, lo) - b));
      if (e > hi) std::memset(p + std::max(b, hi), 0, static_cast<size_t>(e - std::max(b, hi)));
    });
  } else {
    for_row_pieces(1, static_cast<int64_t>(dx.nbytes()), kGrainBytes, [&](int64_t, int64_t b, int64_t e) {
      std::memset(base + b, 0, static_cast<size_t>(e - b));
    });
  }
  copy_slice_any(s, dx, in[0], false);
}

}  // namespace

TG_REGISTER_OP({"concat",
                {"x0", "x1?", "x2?", "x3?", "x4?", "x5?", "x6?", "x7?", "x8?", "x9?", "x10?", "x11?", "x12?", "x13?",
                 "x14?", "x15?"},
                1, infer_concat, cpu_concat_forward, grad_concat,
                "x0, x1, ... (1 to 16 tensors of one dtype, equal shapes except along `axis`, default 0) joined "
                "along axis, as torch.cat"});
TG_REGISTER_OP({"slice", {"x"}, 1, infer_slice, cpu_slice_forward, grad_slice,
                "x[start:end:step] along `axis` (Python slicing: negative bounds count from the end and are "
                "clamped; step > 0; defaults axis 0, start 0, end the dim size, step 1); any dtype"});
TG_REGISTER_OP({"slice_backward", {"dy"}, 1, infer_slice_backward, cpu_slice_backward, nullptr,
                "zeros of `input_shape` with dy written where slice{axis, start, end, step} read: the gradient "
                "of slice"});

}  // namespace tg
