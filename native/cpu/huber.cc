// Robust regression losses as F.smooth_l1_loss and F.huber_loss (PyTorch
// 1.13), with d = x - target and z = |d|:
//   smooth_l1{beta=1}:  0.5 z^2 / beta where z < beta, else z - 0.5 beta (beta 0: plain L1)
//   huber{delta=1}:     0.5 z^2 where z < delta, else delta (z - 0.5 delta)
// so huber = beta * smooth_l1 with beta = delta. reduction 'mean' (default),
// 'sum' or 'none'; x and target of one shape. The backward ops give dx only
// (target gets no gradient). Sums accumulate in float64 over fixed blocks
// added in order, so a loss does not change with the thread count.
#include <algorithm>
#include <cmath>
#include <string>

#include "../core/graph.h"
#include "kernel_util.h"

namespace tg {

namespace {

constexpr int64_t kGrain = 1 << 14;

// The threshold (beta or delta) and the reduction, checked as PyTorch does.
struct Config {
  double t;
  Reduction reduction;
};

Config config(const Attrs& a, bool huber) {
  Config c{a.get_float(huber ? "delta" : "beta", 1.0), parse_reduction(a)};
  if (huber) {
    TG_CHECK(c.t > 0.0, "ERR_TG_ARG", "attribute 'delta' must be positive, got ", c.t);
  } else {
    TG_CHECK(c.t >= 0.0, "ERR_TG_ARG", "attribute 'beta' must not be negative, got ", c.t);
  }
  return c;
}

// The per-element loss and slope. smooth_l1 with beta 0 is plain L1, which
// PyTorch's kernel also gives. Written with min / max rather than branches so
// that the loops vectorise (they map onto minpd / maxpd, NaN included).
enum class Kind { huber, smooth_l1, l1 };

template <Kind K>
struct Pointwise {
  double t, inv;  // the threshold and 1 / t (0 for l1)
  explicit Pointwise(const Config& c) : t(c.t), inv(c.t > 0.0 ? 1.0 / c.t : 0.0) {}

  // With m = min(|d|, t): huber = 0.5 m^2 + t (|d| - m) and smooth_l1 =
  // 0.5 m^2 / t + (|d| - m), each branch of the definitions in one formula.
  double loss(double d) const {
    const double z = std::abs(d);
    if (K == Kind::l1) return z;
    const double m = std::min(z, t);
    if (K == Kind::huber) return 0.5 * m * m + t * (z - m);
    return 0.5 * m * m * inv + (z - m);
  }

  // d loss / d d: clamp(d, -t, t), divided by t for smooth_l1. At |d| = t
  // the branches agree; for L1 PyTorch gives -1 at d = 0 (d <= -beta), and so do we.
  double slope(double d) const {
    if (K == Kind::l1) return d <= 0.0 ? -1.0 : 1.0;
    const double c = std::min(std::max(d, -t), t);
    return K == Kind::huber ? c : c * inv;
  }
};

Shape loss_shape(Reduction r, const Shape& x) { return r == Reduction::none ? x : Shape{}; }

void check_pair(const std::vector<TensorSpec>& in, size_t first) {
  require_float32(in[first], "x");
  require_float32(in[first + 1], "target");
  require_same_shape(in[first], "x", in[first + 1], "target");
}

// ---- smooth_l1 / huber(x, target){beta | delta, reduction} ----

std::vector<TensorSpec> infer_loss(const std::vector<TensorSpec>& in, const Attrs& a, bool huber) {
  const Config c = config(a, huber);
  check_pair(in, 0);
  return {TensorSpec{loss_shape(c.reduction, in[0].shape), DType::f32}};
}
std::vector<TensorSpec> infer_smooth_l1(const std::vector<TensorSpec>& in, const Attrs& a) {
  return infer_loss(in, a, false);
}
std::vector<TensorSpec> infer_huber(const std::vector<TensorSpec>& in, const Attrs& a) {
  return infer_loss(in, a, true);
}

// x, target: (S); y: (S) for 'none', else a scalar. The mean of nothing is
// NaN, as in PyTorch.
template <Kind K>
void loss_forward(const std::vector<Tensor>& in, const Tensor& y, const Config& c) {
  const Pointwise<K> p(c);
  const float* x = in[0].data<float>();
  const float* t = in[1].data<float>();
  const int64_t n = in[0].numel();
  float* py = y.data<float>();
  if (c.reduction == Reduction::none) {
    parallel_range(n, kGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) py[i] = static_cast<float>(p.loss(static_cast<double>(x[i]) - t[i]));
    });
    return;
  }
  const double total = ordered_sum(n, kGrain, [&](int64_t i) { return p.loss(static_cast<double>(x[i]) - t[i]); });
  py[0] = static_cast<float>(c.reduction == Reduction::mean ? total / static_cast<double>(n) : total);
}

void cpu_smooth_l1_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& a,
                           const RunContext&) {
  const Config c = config(a, false);
  if (c.t > 0.0) {
    loss_forward<Kind::smooth_l1>(in, out[0], c);
  } else {
    loss_forward<Kind::l1>(in, out[0], c);
  }
}
void cpu_huber_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& a,
                       const RunContext&) {
  loss_forward<Kind::huber>(in, out[0], config(a, true));
}

std::vector<ValueId> grad_with(const char* op, GraphBuilder& g, const GradContext& c) {
  if (!c.needs_grad[0]) return {kNoValue, kNoValue};
  return {g.add1(op, {c.grad_outputs[0], c.inputs[0], c.inputs[1]}, c.attrs), kNoValue};
}
std::vector<ValueId> grad_smooth_l1(GraphBuilder& g, const GradContext& c) {
  return grad_with("smooth_l1_backward", g, c);
}
std::vector<ValueId> grad_huber(GraphBuilder& g, const GradContext& c) { return grad_with("huber_backward", g, c); }

// ---- smooth_l1_backward / huber_backward(dy, x, target){...}: dx ----

std::vector<TensorSpec> infer_loss_backward(const std::vector<TensorSpec>& in, const Attrs& a, bool huber) {
  const Config c = config(a, huber);
  check_pair(in, 1);
  require_float32(in[0], "dy");
  const Shape want = loss_shape(c.reduction, in[1].shape);
  TG_CHECK(in[0].shape == want, "ERR_TG_SHAPE", "dy has shape ", shape_str(in[0].shape), " but the loss has shape ",
           shape_str(want), " (x's shape for reduction 'none', else a scalar)");
  return {in[1]};
}
std::vector<TensorSpec> infer_smooth_l1_backward(const std::vector<TensorSpec>& in, const Attrs& a) {
  return infer_loss_backward(in, a, false);
}
std::vector<TensorSpec> infer_huber_backward(const std::vector<TensorSpec>& in, const Attrs& a) {
  return infer_loss_backward(in, a, true);
}

// dy: (S) for 'none', else a scalar; x, target, dx: (S)
template <Kind K>
void loss_backward(const std::vector<Tensor>& in, const Tensor& dx, const Config& c) {
  const Pointwise<K> p(c);
  const float* dy = in[0].data<float>();
  const float* x = in[1].data<float>();
  const float* t = in[2].data<float>();
  const int64_t n = in[1].numel();
  float* pdx = dx.data<float>();
  if (c.reduction == Reduction::none) {
    parallel_range(n, kGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) pdx[i] = static_cast<float>(dy[i] * p.slope(static_cast<double>(x[i]) - t[i]));
    });
    return;
  }
  const double g = c.reduction == Reduction::mean ? dy[0] / static_cast<double>(n) : dy[0];
  parallel_range(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) pdx[i] = static_cast<float>(g * p.slope(static_cast<double>(x[i]) - t[i]));
  });
}

void cpu_smooth_l1_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& a,
                            const RunContext&) {
  const Config c = config(a, false);
  if (c.t > 0.0) {
    loss_backward<Kind::smooth_l1>(in, out[0], c);
  } else {
    loss_backward<Kind::l1>(in, out[0], c);
  }
}
void cpu_huber_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& a,
                        const RunContext&) {
  loss_backward<Kind::huber>(in, out[0], config(a, true));
}

}  // namespace

TG_REGISTER_OP({"smooth_l1", {"x", "target"}, 1, infer_smooth_l1, cpu_smooth_l1_forward, grad_smooth_l1,
                "0.5 d^2 / beta where |d| < beta else |d| - 0.5 beta, d = x - target (same shapes), as "
                "F.smooth_l1_loss; attrs beta (default 1, >= 0), reduction"});
TG_REGISTER_OP({"smooth_l1_backward", {"dy", "x", "target"}, 1, infer_smooth_l1_backward, cpu_smooth_l1_backward,
                nullptr, "the gradient of smooth_l1 with respect to x"});
TG_REGISTER_OP({"huber", {"x", "target"}, 1, infer_huber, cpu_huber_forward, grad_huber,
                "0.5 d^2 where |d| < delta else delta (|d| - 0.5 delta), d = x - target (same shapes), as "
                "F.huber_loss; attrs delta (default 1, > 0), reduction"});
TG_REGISTER_OP({"huber_backward", {"dy", "x", "target"}, 1, infer_huber_backward, cpu_huber_backward, nullptr,
                "the gradient of huber with respect to x"});

}  // namespace tg
