// Broadcasting arithmetic (add, sub, mul, div), the shape movers their
// gradients need (broadcast_to, sum_to), and the small helpers autodiff emits
// (neg, scale, ones_like). Broadcasting follows NumPy: shapes align at the
// right, and a dim of size 1, or a missing leading dim, stretches to the other.
#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "../core/graph.h"
#include "broadcast.h"
#include "kernel_util.h"

namespace tg {

namespace {

using broadcast::Plan;
using broadcast::broadcasts_to;
using broadcast::for_each_row;
using broadcast::make_plan;

constexpr int64_t kGrain = 1 << 14;
// Columns of y one sum_to task accumulates at once: the accumulators stay in L1.
constexpr int64_t kSumBlock = 256;
// Tasks a sum_to with few outputs is split into, so that it still fills the pool.
constexpr int64_t kMinTasks = 64;

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {  // i counts dims from the right
    const int64_t da = i < a.size() ? a[a.size() - 1 - i] : 1;
    const int64_t db = i < b.size() ? b[b.size() - 1 - i] : 1;
    TG_CHECK(da == db || da == 1 || db == 1, "ERR_TG_SHAPE", "cannot broadcast ", shape_str(a), " with ",
             shape_str(b));
    out[rank - 1 - i] = da == 1 ? db : da;
  }
  return out;
}

// Steps through an index space in row-major order, keeping each operand's
// element offset, so inner loops never divide.
template <size_t N>
class Walker {
 public:
  Walker(Shape sizes, std::vector<std::array<int64_t, N>> strides)
      : sizes_(std::move(sizes)), strides_(std::move(strides)), idx_(sizes_.size(), 0) {}

  void seek(int64_t flat) {
    off_.fill(0);
    for (size_t d = sizes_.size(); d-- > 0;) {
      idx_[d] = flat % sizes_[d];
      flat /= sizes_[d];
      for (size_t k = 0; k < N; ++k) off_[k] += idx_[d] * strides_[d][k];
    }
  }
  void next() {
    for (size_t d = sizes_.size(); d-- > 0;) {
      for (size_t k = 0; k < N; ++k) off_[k] += strides_[d][k];
      if (++idx_[d] < sizes_[d]) return;
      for (size_t k = 0; k < N; ++k) off_[k] -= strides_[d][k] * sizes_[d];
      idx_[d] = 0;
    }
  }
  int64_t offset(size_t k) const { return off_[k]; }

 private:
  Shape sizes_;
  std::vector<std::array<int64_t, N>> strides_;
  Shape idx_;
  std::array<int64_t, N> off_{};
};

template <int SA, int SB, typename Op>
void binary_rows(const Plan<2>& p, const float* pa, const float* pb, float* py, Op op) {
  for_each_row(p, [&](const std::array<int64_t, 2>& off, int64_t o, int64_t len) {
    const float* a = pa + off[0];
    const float* b = pb + off[1];
    float* y = py + o;
    for (int64_t j = 0; j < len; ++j) y[j] = op(a[j * SA], b[j * SB], o + j);
  });
}

// y[i] = op(a', b', i) with a', b' the operands broadcast to y's shape.
template <typename Op>
void broadcast_binary(const Tensor& a, const Tensor& b, const Tensor& y, Op op) {
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  float* py = y.data<float>();
  if (y.numel() == 0) return;
  if (a.shape() == y.shape() && b.shape() == y.shape()) {
    parallel_range(y.numel(), kGrain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) py[i] = op(pa[i], pb[i], i);
    });
    return;
  }
  const Plan<2> p = make_plan<2>(y.shape(), {&a.shape(), &b.shape()});
  const bool step_a = p.strides.back()[0] != 0;
  const bool step_b = p.strides.back()[1] != 0;
  if (step_a && step_b) {
    binary_rows<1, 1>(p, pa, pb, py, op);
  } else if (step_a) {
    binary_rows<1, 0>(p, pa, pb, py, op);
  } else if (step_b) {
    binary_rows<0, 1>(p, pa, pb, py, op);
  } else {
    binary_rows<0, 0>(p, pa, pb, py, op);
  }
}

std::vector<TensorSpec> infer_binary(const std::vector<TensorSpec>& in, const Attrs&) {
  require_float32(in[0], "a");
  require_float32(in[1], "b");
  return {TensorSpec{broadcast_shapes(in[0].shape, in[1].shape), DType::f32}};
}

// The gradient `grad` summed down to an input's shape; no node when that
// input was not broadcast.
ValueId reduce_to(GraphBuilder& g, ValueId grad, const Shape& shape) {
  if (g.spec(grad).shape == shape) return grad;
  Attrs a;
  a.set("shape", shape);
  return g.add1("sum_to", {grad}, a);
}

// ---- add, sub, mul, div ----
// a, b: broadcastable; y: their broadcast shape
void cpu_add_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                     const RunContext&) {
  broadcast_binary(in[0], in[1], out[0], [](float a, float b, int64_t) { return a + b; });
}
void cpu_sub_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                     const RunContext&) {
  broadcast_binary(in[0], in[1], out[0], [](float a, float b, int64_t) { return a - b; });
}
void cpu_mul_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                     const RunContext&) {
  broadcast_binary(in[0], in[1], out[0], [](float a, float b, int64_t) { return a * b; });
}
void cpu_div_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                     const RunContext&) {
  broadcast_binary(in[0], in[1], out[0], [](float a, float b, int64_t) { return a / b; });
}
// dy: (S); a, b: broadcastable to S; db: (S), summed to b's shape by the grad rule
void cpu_div_backward_b(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                        const RunContext&) {
  const float* pdy = in[0].data<float>();
  // (a / b) / b rather than a / (b * b): b * b overflows or underflows sooner.
  broadcast_binary(in[1], in[2], out[0], [pdy](float a, float b, int64_t i) { return -pdy[i] * (a / b) / b; });
}

std::vector<TensorSpec> infer_div_backward_b(const std::vector<TensorSpec>& in, const Attrs&) {
  require_float32(in[0], "dy");
  require_float32(in[1], "a");
  require_float32(in[2], "b");
  TG_CHECK(broadcasts_to(in[1].shape, in[0].shape) && broadcasts_to(in[2].shape, in[0].shape), "ERR_TG_SHAPE",
           "a ", shape_str(in[1].shape), " and b ", shape_str(in[2].shape), " must broadcast to dy's shape ",
           shape_str(in[0].shape));
  return {in[0]};
}

std::vector<ValueId> grad_add(GraphBuilder& g, const GradContext& c) {
  const ValueId dy = c.grad_outputs[0];
  std::vector<ValueId> r(2, kNoValue);
  for (size_t i = 0; i < 2; ++i) {
    if (c.needs_grad[i]) r[i] = reduce_to(g, dy, Shape(g.spec(c.inputs[i]).shape));
  }
  return r;
}
std::vector<ValueId> grad_sub(GraphBuilder& g, const GradContext& c) {
  const ValueId dy = c.grad_outputs[0];
  std::vector<ValueId> r(2, kNoValue);
  if (c.needs_grad[0]) r[0] = reduce_to(g, dy, Shape(g.spec(c.inputs[0]).shape));
  // Negating after the reduction touches fewer elements.
  if (c.needs_grad[1]) r[1] = g.add1("neg", {reduce_to(g, dy, Shape(g.spec(c.inputs[1]).shape))});
  return r;
}
std::vector<ValueId> grad_mul(GraphBuilder& g, const GradContext& c) {
  const ValueId dy = c.grad_outputs[0], a = c.inputs[0], b = c.inputs[1];
  const Shape sa = g.spec(a).shape, sb = g.spec(b).shape;
  std::vector<ValueId> r(2, kNoValue);
  if (c.needs_grad[0]) r[0] = reduce_to(g, g.add1("mul", {dy, b}), sa);
  if (c.needs_grad[1]) r[1] = reduce_to(g, g.add1("mul", {dy, a}), sb);
  return r;
}
std::vector<ValueId> grad_div(GraphBuilder& g, const GradContext& c) {
  const ValueId dy = c.grad_outputs[0], a = c.inputs[0], b = c.inputs[1];
  const Shape sa = g.spec(a).shape, sb = g.spec(b).shape;
  std::vector<ValueId> r(2, kNoValue);
  if (c.needs_grad[0]) r[0] = reduce_to(g, g.add1("div", {dy, b}), sa);
  if (c.needs_grad[1]) r[1] = reduce_to(g, g.add1("div_backward_b", {dy, a, b}), sb);
  return r;
}

// ---- neg, scale, ones_like ----
void map_unary(const Tensor& x, const Tensor& y, float scale, float bias) {
  const float* px = x.data<float>();
  float* py = y.data<float>();
  parallel_range(x.numel(), kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) py[i] = px[i] * scale + bias;
  });
}
// x, y: (S)
void cpu_neg_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                     const RunContext&) {
  map_unary(in[0], out[0], -1.0f, 0.0f);
}
std::vector<ValueId> grad_neg(GraphBuilder& g, const GradContext& c) {
  return {g.add1("neg", {c.grad_outputs[0]})};
}

std::vector<TensorSpec> infer_scale(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  TG_CHECK(attrs.has("value"), "ERR_TG_ARG", "op '", attrs.op(), "': attribute 'value' is required");
  // Read once here so that a non-numeric attribute fails when the graph is built.
  attrs.get_float("value", 0.0);
  attrs.get_float("bias", 0.0);
  return infer_unary_f32(in, attrs);
}
// x, y: (S)
void cpu_scale_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                       const RunContext&) {
  map_unary(in[0], out[0], static_cast<float>(attrs.get_float("value", 0.0)),
            static_cast<float>(attrs.get_float("bias", 0.0)));
}
std::vector<ValueId> grad_scale(GraphBuilder& g, const GradContext& c) {
  Attrs a;
  a.set("value", c.attrs.get_float("value", 0.0));
  return {g.add1("scale", {c.grad_outputs[0]}, a)};
}

// x, y: (S)
void cpu_ones_like_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                           const RunContext&) {
  float* py = out[0].data<float>();
  parallel_range(in[0].numel(), kGrain, [&](int64_t b, int64_t e) { std::fill(py + b, py + e, 1.0f); });
}

// ---- broadcast_to, sum_to ----
Shape shape_attr(const Attrs& attrs) {
  const Shape s = attrs.require_ints("shape");
  for (int64_t d : s) {
    TG_CHECK(d >= 0, "ERR_TG_ARG", "op '", attrs.op(), "': attribute 'shape' ", shape_str(s),
             " has a negative dimension");
  }
  return s;
}

std::vector<TensorSpec> infer_broadcast_to(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  require_float32(in[0], "x");
  const Shape s = shape_attr(attrs);
  TG_CHECK(broadcasts_to(in[0].shape, s), "ERR_TG_SHAPE", "cannot broadcast x of shape ", shape_str(in[0].shape),
           " to attribute 'shape' ", shape_str(s));
  return {TensorSpec{s, DType::f32}};
}
std::vector<TensorSpec> infer_sum_to(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  require_float32(in[0], "x");
  const Shape s = shape_attr(attrs);
  TG_CHECK(broadcasts_to(s, in[0].shape), "ERR_TG_SHAPE", "cannot sum x of shape ", shape_str(in[0].shape),
           " to attribute 'shape' ", shape_str(s), ": aligned at the right, each of its dims must be 1 or x's");
  return {TensorSpec{s, DType::f32}};
}

// x: broadcastable to S; y: (S)
void cpu_broadcast_to_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                              const RunContext&) {
  const float* px = in[0].data<float>();
  float* py = out[0].data<float>();
  if (out[0].numel() == 0) return;
  const Plan<1> p = make_plan<1>(out[0].shape(), {&in[0].shape()});
  const bool rows_of_x = p.strides.back()[0] != 0;
  for_each_row(p, [&](const std::array<int64_t, 1>& off, int64_t o, int64_t len) {
    if (rows_of_x) {
      std::memcpy(py + o, px + off[0], static_cast<size_t>(len) * sizeof(float));
    } else {
      std::fill(py + o, py + o + len, px[off[0]]);
    }
  });
}
std::vector<ValueId> grad_broadcast_to(GraphBuilder& g, const GradContext& c) {
  return {reduce_to(g, c.grad_outputs[0], Shape(g.spec(c.inputs[0]).shape))};
}

// Sum of n contiguous floats in double, in four chains so the adds overlap.
double sum_run(const float* p, int64_t n) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += p[i];
    s1 += p[i + 1];
    s2 += p[i + 2];
    s3 += p[i + 3];
  }
  for (; i < n; ++i) s0 += p[i];
  return (s0 + s1) + (s2 + s3);
}

// How many parts to split each output's `terms` into when only `units`
// independent pieces of work exist (a bias gradient (N, D) -> (D), a full
// sum): enough for kMinTasks tasks, each part at least kGrain elements long
// (`width` elements per term). Chosen from the shapes alone, so the order of
// the additions, and the result, never depend on the thread count.
int64_t split_parts(int64_t units, int64_t terms, int64_t width) {
  if (units >= kMinTasks) return 1;
  const int64_t most = std::max<int64_t>(1, terms * width / kGrain);
  return std::min(most, (kMinTasks + units - 1) / units);
}

// x: (S); y: (T) with T broadcastable to S. Sums accumulate in double.
void cpu_sum_to_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                        const RunContext&) {
  const Tensor& x = in[0];
  const Tensor& y = out[0];
  const float* px = x.data<float>();
  float* py = y.data<float>();
  const int64_t ny = y.numel();
  if (ny == 0) return;
  if (x.numel() == 0) {
    std::fill(py, py + ny, 0.0f);
    return;
  }
  if (x.numel() == ny) {  // the shapes differ in size-1 dims only
    std::memcpy(py, px, x.nbytes());
    return;
  }
  // Split the plan's dims into those y keeps and those summed away, each with
  // x's (contiguous) strides; the kept dims in order enumerate y's elements.
  const Plan<1> p = make_plan<1>(x.shape(), {&y.shape()});
  Shape kept, summed;
  std::vector<std::array<int64_t, 1>> kept_strides, summed_strides;
  std::vector<int64_t> x_strides(p.dims.size());
  int64_t step = 1;
  for (size_t d = p.dims.size(); d-- > 0;) {
    x_strides[d] = step;
    step *= p.dims[d];
  }
  for (size_t d = 0; d < p.dims.size(); ++d) {
    if (p.strides[d][0] != 0) {
      kept.push_back(p.dims[d]);
      kept_strides.push_back({x_strides[d]});
    } else {
      summed.push_back(p.dims[d]);
      summed_strides.push_back({x_strides[d]});
    }
  }
  const int64_t terms = x.numel() / ny;  // x elements per y element
  const int64_t len = p.dims.back();
  // With parts > 1 each task leaves a double partial sum; they are added in
  // part order at the end.
  std::vector<double> partial;
  int64_t parts = 1;
  if (p.strides.back()[0] != 0) {
    // Innermost dim kept: rows of y gather whole contiguous rows of x. A task
    // owns a block of one y row and streams (a part of) the matching x rows
    // through it.
    kept.pop_back();
    kept_strides.pop_back();
    const int64_t block = std::min(len, kSumBlock);
    const int64_t blocks = (len + block - 1) / block;
    const int64_t units = ny / len * blocks;
    parts = split_parts(units, terms, block);
    const int64_t span = (terms + parts - 1) / parts;
    partial.resize(parts > 1 ? static_cast<size_t>(parts * ny) : 0);
    parallel_range(parts * units, std::max<int64_t>(1, kGrain / (span * block)), [&](int64_t b, int64_t e) {
      Walker<1> rows(kept, kept_strides), sums(summed, summed_strides);
      double acc[kSumBlock];
      for (int64_t t = b; t < e; ++t) {
        const int64_t part = t / units, u = t % units;
        const int64_t r = u / blocks, c0 = (u % blocks) * block, n = std::min(block, len - c0);
        const int64_t first = part * span, last = std::min(terms, first + span);
        rows.seek(r);
        sums.seek(first);
        std::fill(acc, acc + n, 0.0);
        const float* base = px + rows.offset(0) + c0;
        for (int64_t i = first; i < last; ++i, sums.next()) {
          const float* src = base + sums.offset(0);
          for (int64_t j = 0; j < n; ++j) acc[j] += src[j];
        }
        const int64_t o = r * len + c0;
        if (parts > 1) {
          std::copy(acc, acc + n, partial.begin() + part * ny + o);
        } else {
          for (int64_t j = 0; j < n; ++j) py[o + j] = static_cast<float>(acc[j]);
        }
      }
    });
  } else {
    // Innermost dim summed: each y element adds up runs of `len` contiguous x
    // elements; a part is a stretch of those terms, cutting runs where needed.
    summed.pop_back();
    summed_strides.pop_back();
    parts = split_parts(ny, terms, 1);
    const int64_t span = (terms + parts - 1) / parts;
    partial.resize(parts > 1 ? static_cast<size_t>(parts * ny) : 0);
    parallel_range(parts * ny, std::max<int64_t>(1, kGrain / span), [&](int64_t b, int64_t e) {
      Walker<1> outs(kept, kept_strides), runs(summed, summed_strides);
      for (int64_t t = b; t < e; ++t) {
        const int64_t part = t / ny, o = t % ny;
        const int64_t last = std::min(terms, (part + 1) * span);
        outs.seek(o);
        runs.seek(part * span / len);
        double s = 0.0;
        for (int64_t i = part * span; i < last; runs.next()) {
          const int64_t in_run = i % len, n = std::min(len - in_run, last - i);
          s += sum_run(px + outs.offset(0) + runs.offset(0) + in_run, n);
          i += n;
        }
        if (parts > 1) {
          partial[static_cast<size_t>(part * ny + o)] = s;
        } else {
          py[o] = static_cast<float>(s);
        }
      }
    });
  }
  if (parts > 1) {
    parallel_range(ny, kGrain, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        double s = 0.0;
        for (int64_t part = 0; part < parts; ++part) s += partial[static_cast<size_t>(part * ny + o)];
        py[o] = static_cast<float>(s);
      }
    });
  }
}
std::vector<ValueId> grad_sum_to(GraphBuilder& g, const GradContext& c) {
  const Shape sx = g.spec(c.inputs[0]).shape;
  if (g.spec(c.grad_outputs[0]).shape == sx) return {c.grad_outputs[0]};
  Attrs a;
  a.set("shape", sx);
  return {g.add1("broadcast_to", {c.grad_outputs[0]}, a)};
}

}  // namespace

TG_REGISTER_OP({"add", {"a", "b"}, 1, infer_binary, cpu_add_forward, grad_add,
                "a + b with broadcasting; y has the broadcast shape of a and b"});
TG_REGISTER_OP({"sub", {"a", "b"}, 1, infer_binary, cpu_sub_forward, grad_sub,
                "a - b with broadcasting; y has the broadcast shape of a and b"});
TG_REGISTER_OP({"mul", {"a", "b"}, 1, infer_binary, cpu_mul_forward, grad_mul,
                "a * b with broadcasting; y has the broadcast shape of a and b"});
TG_REGISTER_OP({"div", {"a", "b"}, 1, infer_binary, cpu_div_forward, grad_div,
                "a / b with broadcasting; y has the broadcast shape of a and b"});
TG_REGISTER_OP({"div_backward_b", {"dy", "a", "b"}, 1, infer_div_backward_b, cpu_div_backward_b, nullptr,
                "-dy * a / b^2, the gradient of a / b for b before summing to b's shape: dy (S), a and b "
                "broadcastable to S, result (S)"});
TG_REGISTER_OP({"neg", {"x"}, 1, infer_unary_f32, cpu_neg_forward, grad_neg, "-x, y shaped like x"});
TG_REGISTER_OP({"scale", {"x"}, 1, infer_scale, cpu_scale_forward, grad_scale,
                "x * value + bias (attributes; bias defaults to 0), y shaped like x"});
TG_REGISTER_OP({"ones_like", {"x"}, 1, infer_unary_f32, cpu_ones_like_forward, nullptr,
                "ones shaped like x (f32); not differentiable"});
TG_REGISTER_OP({"broadcast_to", {"x"}, 1, infer_broadcast_to, cpu_broadcast_to_forward, grad_broadcast_to,
                "x stretched to attribute shape S by broadcasting: x broadcastable to S, y (S)"});
TG_REGISTER_OP({"sum_to", {"x"}, 1, infer_sum_to, cpu_sum_to_forward, grad_sum_to,
                "x (S) summed down to attribute shape T, T broadcastable to S (as PyTorch's sum_to_size): y (T)"});

}  // namespace tg
