// Selection by a boolean mask, as torch.where(cond, a, b) and
// Tensor.masked_fill(mask, value), with NumPy broadcasting (shapes align at the
// right; a dim of size 1, or a missing leading dim, stretches). Masks are bool
// or u8, any nonzero byte meaning true. Both gradients are one op,
// where_backward, which keeps dy where the mask selects the input (and zeros
// it elsewhere); where's rule then sums that down to the input's shape.
#include <algorithm>
#include <array>
#include <string>

#include "../core/graph.h"
#include "broadcast.h"
#include "kernel_util.h"

namespace tg {

namespace {

using broadcast::Plan;
using broadcast::broadcast_all;
using broadcast::broadcasts_to;
using broadcast::for_each_row;
using broadcast::make_plan;

void require_mask(const TensorSpec& s, const char* what) {
  TG_CHECK(s.dtype == DType::boolean || s.dtype == DType::u8, "ERR_TG_DTYPE", what, " must be bool or u8, got ",
           dtype_name(s.dtype));
}

// ---- where(cond, a, b): y = cond ? a : b, all three broadcast together ----

Shape where_shape(const std::vector<TensorSpec>& in) {
  Shape out;
  TG_CHECK(broadcast_all({&in[0].shape, &in[1].shape, &in[2].shape}, out), "ERR_TG_SHAPE", "cannot broadcast cond ",
           shape_str(in[0].shape), ", a ", shape_str(in[1].shape), " and b ", shape_str(in[2].shape), " together");
  return out;
}

std::vector<TensorSpec> infer_where(const std::vector<TensorSpec>& in, const Attrs&) {
  require_mask(in[0], "cond");
  require_float32(in[1], "a");
  require_float32(in[2], "b");
  return {TensorSpec{where_shape(in), DType::f32}};
}

// A row of an operand whose step along the row is S (0: broadcast, 1:
// contiguous). A broadcast value is read once up front: otherwise every store
// to the float output could, as far as the compiler knows, change it (a uint8
// mask may alias anything), and the loop would reload it and not vectorise.
template <int S, typename T>
struct RowReader {
  const T* p;
  T v;
  explicit RowReader(const T* row) : p(row), v(S ? T() : row[0]) {}
  T operator[](int64_t j) const { return S ? p[j] : v; }
};

// SC, SA, SB: the operands' steps along a row, fixed at compile time.
template <int SC, int SA, int SB>
void where_rows(const Plan<3>& p, const uint8_t* pc, const float* pa, const float* pb, float* py) {
  for_each_row(p, [&](const std::array<int64_t, 3>& off, int64_t o, int64_t len) {
    const RowReader<SC, uint8_t> c(pc + off[0]);
    const RowReader<SA, float> a(pa + off[1]);
    const RowReader<SB, float> b(pb + off[2]);
    float* y = py + o;
    // Both sides are loaded unconditionally so that the choice compiles to a
    // blend rather than a branch, which a random mask would mispredict.
    for (int64_t j = 0; j < len; ++j) {
      const float va = a[j], vb = b[j];
      y[j] = c[j] ? va : vb;
    }
  });
}

using WhereRows = void (*)(const Plan<3>&, const uint8_t*, const float*, const float*, float*);
// Indexed by 4 SC + 2 SA + SB.
constexpr WhereRows kWhereRows[8] = {where_rows<0, 0, 0>, where_rows<0, 0, 1>, where_rows<0, 1, 0>,
                                     where_rows<0, 1, 1>, where_rows<1, 0, 0>, where_rows<1, 0, 1>,
                                     where_rows<1, 1, 0>, where_rows<1, 1, 1>};

// cond, a, b: broadcastable to y's shape S; y: (S)
void cpu_where_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                       const RunContext&) {
  if (out[0].numel() == 0) return;
  const Plan<3> p = make_plan<3>(out[0].shape(), {&in[0].shape(), &in[1].shape(), &in[2].shape()});
  const std::array<int64_t, 3>& step = p.strides.back();
  const int which = (step[0] != 0) * 4 + (step[1] != 0) * 2 + (step[2] != 0);
  kWhereRows[which](p, static_cast<const uint8_t*>(in[0].raw()), in[1].data<float>(), in[2].data<float>(),
                    out[0].data<float>());
}

// The gradient of a (select 'a') or b (select 'b'): dy where cond selects it,
// summed down to its shape where it was broadcast.
ValueId selected_grad(GraphBuilder& g, ValueId dy, ValueId cond, const char* select, const Shape& shape) {
  Attrs a;
  a.set("select", std::string(select));
  const ValueId d = g.add1("where_backward", {dy, cond}, a);
  if (g.spec(d).shape == shape) return d;
  Attrs s;
  s.set("shape", shape);
  return g.add1("sum_to", {d}, s);
}

std::vector<ValueId> grad_where(GraphBuilder& g, const GradContext& c) {
  std::vector<ValueId> grads(3, kNoValue);
  const char* select[] = {nullptr, "a", "b"};
  for (size_t i = 1; i < 3; ++i) {
    if (c.needs_grad[i]) {
      grads[i] = selected_grad(g, c.grad_outputs[0], c.inputs[0], select[i], Shape(g.spec(c.inputs[i]).shape));
    }
  }
  return grads;
}

// ---- where_backward(dy, cond){select}: dy where cond (select 'a') or where !cond ('b'), else 0 ----

bool selects_a(const Attrs& attrs) {
  const std::string s = attrs.get_string("select", "");
  TG_CHECK(s == "a" || s == "b", "ERR_TG_ARG", "attribute 'select' must be 'a' or 'b', got '", s, "'");
  return s == "a";
}

// Checks mask (bool/u8) broadcasts to the shape of x (f32), both named for messages.
void check_mask_for(const TensorSpec& x, const char* xname, const TensorSpec& mask, const char* mname) {
  require_float32(x, xname);
  require_mask(mask, mname);
  TG_CHECK(broadcasts_to(mask.shape, x.shape), "ERR_TG_SHAPE", mname, " has shape ", shape_str(mask.shape),
           ", which does not broadcast to ", xname, "'s shape ", shape_str(x.shape));
}

std::vector<TensorSpec> infer_where_backward(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  selects_a(attrs);
  check_mask_for(in[0], "dy", in[1], "cond");
  return {in[0]};
}

// y[i] = pick(mask'[i], x[i]) with x and y of one shape and mask' the mask
// broadcast to it; SM is the mask's step along a row (0 or 1).
template <int SM, typename Pick>
void mask_rows(const Plan<1>& p, const uint8_t* pm, const float* px, float* py, Pick pick) {
  for_each_row(p, [&](const std::array<int64_t, 1>& off, int64_t o, int64_t len) {
    const RowReader<SM, uint8_t> m(pm + off[0]);
    const float* x = px + o;
    float* y = py + o;
    for (int64_t j = 0; j < len; ++j) y[j] = pick(m[j] != 0, x[j]);
  });
}

template <typename Pick>
void select_with_mask(const Tensor& x, const Tensor& mask, const Tensor& y, Pick pick) {
  if (y.numel() == 0) return;
  const Plan<1> p = make_plan<1>(y.shape(), {&mask.shape()});
  const uint8_t* pm = static_cast<const uint8_t*>(mask.raw());
  if (p.strides.back()[0] != 0) {
    mask_rows<1>(p, pm, x.data<float>(), y.data<float>(), pick);
  } else {
    mask_rows<0>(p, pm, x.data<float>(), y.data<float>(), pick);
  }
}

// dy, dx: (S); cond broadcastable to S
void cpu_where_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                        const RunContext&) {
  if (selects_a(attrs)) {
    select_with_mask(in[0], in[1], out[0], [](bool m, float d) { return m ? d : 0.0f; });
  } else {
    select_with_mask(in[0], in[1], out[0], [](bool m, float d) { return m ? 0.0f : d; });
  }
}

// ---- masked_fill(x, mask){value}: y = mask ? value : x, mask broadcast to x ----

std::vector<TensorSpec> infer_masked_fill(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  TG_CHECK(attrs.has("value"), "ERR_TG_ARG", "attribute 'value' is required");
  attrs.get_float("value", 0.0);  // a non-numeric value fails when the graph is built
  check_mask_for(in[0], "x", in[1], "mask");
  return {in[0]};
}

// x, y: (S); mask broadcastable to S
void cpu_masked_fill_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                             const RunContext&) {
  const float value = static_cast<float>(attrs.get_float("value", 0.0));
  select_with_mask(in[0], in[1], out[0], [value](bool m, float x) { return m ? value : x; });
}

std::vector<ValueId> grad_masked_fill(GraphBuilder& g, const GradContext& c) {
  Attrs a;
  a.set("select", std::string("b"));
  return {g.add1("where_backward", {c.grad_outputs[0], c.inputs[1]}, a), kNoValue};
}

}  // namespace

TG_REGISTER_OP({"where", {"cond", "a", "b"}, 1, infer_where, cpu_where_forward, grad_where,
                "cond ? a : b elementwise, as torch.where: cond bool/u8, a and b f32, all three broadcast together "
                "(NumPy rules); y f32 of the broadcast shape"});
TG_REGISTER_OP({"where_backward", {"dy", "cond"}, 1, infer_where_backward, cpu_where_backward, nullptr,
                "dy where cond (select 'a') or where !cond (select 'b'), 0 elsewhere; cond broadcast to dy's shape: "
                "the gradient of where (before sum_to) and of masked_fill"});
TG_REGISTER_OP({"masked_fill", {"x", "mask"}, 1, infer_masked_fill, cpu_masked_fill_forward, grad_masked_fill,
                "x with `value` wherever mask (bool/u8, broadcast to x's shape) is set, as Tensor.masked_fill"});

}  // namespace tg
