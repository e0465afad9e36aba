// Loss functions with torch.nn.functional semantics: cross_entropy (class-index
// targets), bce_with_logits and mse, each with reduction 'mean', 'sum' or
// 'none', and their "<op>_backward" ops. Per-element work is float or float64;
// reductions accumulate in float64 over fixed blocks summed in order, so a
// loss does not change with the thread count.
#include <cmath>
#include <string>

#include "../core/graph.h"
#include "kernel_util.h"

namespace tg {

namespace {

constexpr int64_t kGrain = 1 << 14;

// The loss (or the dy of its backward op): a scalar unless reduction is 'none'.
Shape reduced_shape(Reduction r, const Shape& elementwise) { return r == Reduction::none ? elementwise : Shape{}; }

void require_dy(const TensorSpec& dy, Reduction r, const Shape& elementwise, const char* of) {
  require_float32(dy, "dy");
  const Shape want = reduced_shape(r, elementwise);
  TG_CHECK(dy.shape == want, "ERR_TG_SHAPE", "dy has shape ", shape_str(dy.shape), " but the loss has shape ",
           shape_str(want), " (", of, ")");
}

// Writes per-element losses f(i) to out (reduction 'none'), or their sum, or
// their sum / denom (PyTorch returns NaN for a mean over nothing, and so do we).
template <typename Fn>
void reduce_loss(Reduction r, int64_t n, int64_t grain, double denom, float* out, Fn f) {
  if (r == Reduction::none) {
    parallel_range(n, grain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) out[i] = static_cast<float>(f(i));
    });
    return;
  }
  const double total = ordered_sum(n, grain, f);
  out[0] = static_cast<float>(r == Reduction::mean ? total / denom : total);
}

// The gradient reaching element i's loss: dy[i], or the scalar dy spread by the reduction.
struct UpstreamGrad {
  const float* dy;
  bool elementwise;
  double scale;
  double operator()(int64_t i) const { return elementwise ? dy[i] : scale; }
};

UpstreamGrad upstream_grad(Reduction r, const Tensor& dy, double denom) {
  const float* p = dy.data<float>();
  if (r == Reduction::none) return {p, true, 1.0};
  return {p, false, r == Reduction::mean ? p[0] / denom : p[0]};
}

std::string index_str(int64_t flat, const Shape& shape) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  std::string s = "[";
  for (size_t d = 0; d < idx.size(); ++d) s += (d ? ", " : "") + std::to_string(idx[d]);
  return s + "]";
}

// ---- cross_entropy -------------------------------------------------------
// loss_i = (1 - eps) * w[t_i] * -log p_i[t_i] + eps / C * sum_c w[c] * -log p_i[c]
// (w = 1 without weights), 0 where t_i == ignore_index. 'mean' divides the sum
// by sum_i w[t_i] over non-ignored i for both terms, as PyTorch does.

struct CeConfig {
  Reduction reduction;
  int64_t ignore_index;
  double smoothing;
};

CeConfig ce_config(const Attrs& a) {
  CeConfig c{parse_reduction(a), a.get_int("ignore_index", -100), a.get_float("label_smoothing", 0.0)};
  TG_CHECK(c.smoothing >= 0.0 && c.smoothing <= 1.0, "ERR_TG_ARG", "label_smoothing must be in [0, 1], got ",
           c.smoothing);
  return c;
}

// Checks logits, target and weight? starting at in[first]; returns target's shape.
Shape ce_check_inputs(const std::vector<TensorSpec>& in, size_t first) {
  const TensorSpec& logits = in[first];
  const TensorSpec& target = in[first + 1];
  require_float32(logits, "logits");
  TG_CHECK(logits.shape.size() >= 2, "ERR_TG_SHAPE", "logits must have shape (N, C) or (N, C, d1, ...), got ",
           shape_str(logits.shape));
  TG_CHECK(target.dtype == DType::i32 || target.dtype == DType::i64, "ERR_TG_DTYPE",
           "target must hold class indices as i32 or i64, got ", dtype_name(target.dtype));
  Shape want = logits.shape;
  want.erase(want.begin() + 1);
  TG_CHECK(target.shape == want, "ERR_TG_SHAPE", "target has shape ", shape_str(target.shape), " but logits of shape ",
           shape_str(logits.shape), " need target shape ", shape_str(want));
  if (in.size() > first + 2) {
    const TensorSpec& weight = in[first + 2];
    require_float32(weight, "weight");
    TG_CHECK(weight.shape == Shape{logits.shape[1]}, "ERR_TG_SHAPE", "weight has shape ", shape_str(weight.shape),
             " but logits of shape ", shape_str(logits.shape), " have ", logits.shape[1], " classes");
  }
  return want;
}

std::vector<TensorSpec> infer_cross_entropy(const std::vector<TensorSpec>& in, const Attrs& a) {
  const CeConfig cfg = ce_config(a);
  const Shape target_shape = ce_check_inputs(in, 0);
  return {{reduced_shape(cfg.reduction, target_shape), DType::f32}};
}

std::vector<TensorSpec> infer_cross_entropy_backward(const std::vector<TensorSpec>& in, const Attrs& a) {
  const CeConfig cfg = ce_config(a);
  const Shape target_shape = ce_check_inputs(in, 1);
  require_dy(in[0], cfg.reduction, target_shape, "target's shape for reduction 'none', else a scalar");
  return {in[1]};
}

// logits: (N, C, S), S the product of the spatial dims (1 without them);
// target: (N, S); weight: (C) or absent.
struct CeProblem {
  int64_t n, c, s;
  const float* logits;
  const float* weight;  // nullptr: all classes weigh 1
  std::vector<int64_t> cls;  // per position (N * S): the class, or -1 where ignored
  double total_weight = 0.0;  // sum of w[t] over non-ignored positions: the 'mean' divisor
  double weight_sum = 0.0;  // sum_c w[c], which scales the smoothing term's softmax part
  double w(int64_t k) const { return weight ? weight[k] : 1.0; }
};

template <typename T>
void ce_read_targets(CeProblem& p, const Tensor& target, int64_t ignore_index, const std::string& op) {
  const T* t = target.data<T>();
  const int64_t positions = p.n * p.s;
  p.cls.resize(static_cast<size_t>(positions));
  for (int64_t i = 0; i < positions; ++i) {
    const int64_t k = static_cast<int64_t>(t[i]);
    if (k == ignore_index) {
      p.cls[i] = -1;
      continue;
    }
    TG_CHECK(k >= 0 && k < p.c, "ERR_TG_ARG", op, ": target", index_str(i, target.shape()), " = ", k,
             " is out of range for ", p.c, " classes (ignore_index is ", ignore_index, ")");
    p.cls[i] = k;
    p.total_weight += p.w(k);
  }
}

// Validates the targets (a data check, so it happens here rather than in infer).
CeProblem ce_problem(const Tensor& logits, const Tensor& target, const Tensor* weight, const CeConfig& cfg,
                     const std::string& op) {
  CeProblem p;
  p.n = logits.size(0);
  p.c = logits.size(1);
  p.s = shape_numel(Shape(logits.shape().begin() + 2, logits.shape().end()));
  p.logits = logits.data<float>();
  p.weight = weight ? weight->data<float>() : nullptr;
  for (int64_t k = 0; k < p.c; ++k) p.weight_sum += p.w(k);
  if (target.dtype() == DType::i32) {
    ce_read_targets<int32_t>(p, target, cfg.ignore_index, op);
  } else {
    ce_read_targets<int64_t>(p, target, cfg.ignore_index, op);
  }
  return p;
}

// log(sum_c exp(z[c * s])), shifted by the max so large logits cannot overflow.
double log_sum_exp(const float* z, int64_t c, int64_t s) {
  float m = z[0];
  for (int64_t k = 1; k < c; ++k) m = std::max(m, z[k * s]);
  double sum = 0.0;
  for (int64_t k = 0; k < c; ++k) sum += std::exp(z[k * s] - m);
  return m + std::log(sum);
}

// Position i = (n, s) of logits (N, C, S): its class vector starts at this offset, with stride S.
int64_t ce_offset(const CeProblem& p, int64_t i) { return (i / p.s) * p.c * p.s + i % p.s; }

// Positions per parallel chunk (and per summed block): each costs O(C).
int64_t ce_grain(const CeProblem& p) { return std::max<int64_t>(1, kGrain / std::max<int64_t>(1, p.c)); }

void cpu_cross_entropy_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& a,
                               const RunContext&) {
  const CeConfig cfg = ce_config(a);
  const CeProblem p = ce_problem(in[0], in[1], in.size() > 2 ? &in[2] : nullptr, cfg, a.op());
  const double eps_c = cfg.smoothing / static_cast<double>(p.c);
  auto loss = [&](int64_t i) {
    const int64_t t = p.cls[i];
    if (t < 0) return 0.0;
    const float* z = p.logits + ce_offset(p, i);
    const double lse = log_sum_exp(z, p.c, p.s);
    double v = (1.0 - cfg.smoothing) * p.w(t) * (lse - z[t * p.s]);
    if (cfg.smoothing > 0.0) {
      double wz = 0.0;
      for (int64_t k = 0; k < p.c; ++k) wz += p.w(k) * z[k * p.s];
      v += eps_c * (p.weight_sum * lse - wz);
    }
    return v;
  };
  reduce_loss(cfg.reduction, p.n * p.s, ce_grain(p), p.total_weight, out[0].data<float>(), loss);
}

// d loss_i / d z_k = g_i * ((a + b W) softmax_k - b w[k] - a [k == t]),
// with a = (1 - eps) w[t], b = eps / C, W = sum_c w[c].
void cpu_cross_entropy_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& a,
                                const RunContext&) {
  const CeConfig cfg = ce_config(a);
  const CeProblem p = ce_problem(in[1], in[2], in.size() > 3 ? &in[3] : nullptr, cfg, a.op());
  const UpstreamGrad grad = upstream_grad(cfg.reduction, in[0], p.total_weight);
  const double b = cfg.smoothing / static_cast<double>(p.c);
  float* dz_all = out[0].data<float>();
  parallel_range(p.n * p.s, ce_grain(p), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float* dz = dz_all + ce_offset(p, i);
      const int64_t t = p.cls[i];
      if (t < 0) {
        for (int64_t k = 0; k < p.c; ++k) dz[k * p.s] = 0.0f;
        continue;
      }
      const float* z = p.logits + ce_offset(p, i);
      const double lse = log_sum_exp(z, p.c, p.s);
      const double g = grad(i);
      const double at = (1.0 - cfg.smoothing) * p.w(t);
      const double coef = at + b * p.weight_sum;
      for (int64_t k = 0; k < p.c; ++k) {
        dz[k * p.s] = static_cast<float>(g * (coef * std::exp(z[k * p.s] - lse) - b * p.w(k)));
      }
      dz[t * p.s] -= static_cast<float>(g * at);
    }
  });
}

std::vector<ValueId> grad_cross_entropy(GraphBuilder& g, const GradContext& c) {
  std::vector<ValueId> grads(c.inputs.size(), kNoValue);  // no gradient for target (integer) or weight
  std::vector<ValueId> args{c.grad_outputs[0]};
  args.insert(args.end(), c.inputs.begin(), c.inputs.end());
  if (c.needs_grad[0]) grads[0] = g.add1("cross_entropy_backward", args, c.attrs);
  return grads;
}

// ---- bce_with_logits -------------------------------------------------------
// loss = (1 - t) x + lw softplus(-x), lw = 1 + (pos_weight - 1) t (lw = 1
// without pos_weight); softplus(-x) = max(-x, 0) + log1p(exp(-|x|)) never overflows.

// Checks x, target and pos_weight? starting at in[first].
void bce_check_inputs(const std::vector<TensorSpec>& in, size_t first) {
  const TensorSpec& x = in[first];
  require_float32(x, "x");
  require_float32(in[first + 1], "target");
  require_same_shape(x, "x", in[first + 1], "target");
  if (in.size() > first + 2) {
    const TensorSpec& pw = in[first + 2];
    require_float32(pw, "pos_weight");
    bool ok = pw.shape.size() <= x.shape.size();
    for (size_t d = 1; ok && d <= pw.shape.size(); ++d) {
      const int64_t pd = pw.shape[pw.shape.size() - d];
      ok = pd == 1 || pd == x.shape[x.shape.size() - d];
    }
    TG_CHECK(ok, "ERR_TG_SHAPE", "pos_weight has shape ", shape_str(pw.shape),
             ", which does not broadcast to x's shape ", shape_str(x.shape));
  }
}

std::vector<TensorSpec> infer_bce_with_logits(const std::vector<TensorSpec>& in, const Attrs& a) {
  const Reduction r = parse_reduction(a);
  bce_check_inputs(in, 0);
  return {{reduced_shape(r, in[0].shape), DType::f32}};
}

std::vector<TensorSpec> infer_bce_with_logits_backward(const std::vector<TensorSpec>& in, const Attrs& a) {
  const Reduction r = parse_reduction(a);
  bce_check_inputs(in, 1);
  require_dy(in[0], r, in[1].shape, "x's shape for reduction 'none', else a scalar");
  return {in[1]};
}

// Maps an element of x to the element of pos_weight broadcast against it.
class BroadcastIndex {
 public:
  BroadcastIndex(const Shape& x, const Shape& b) : dims_(x), strides_(x.size(), 0) {
    int64_t stride = 1;
    for (size_t d = 1; d <= b.size(); ++d) {
      const int64_t bd = b[b.size() - d];
      if (bd != 1) strides_[x.size() - d] = stride;
      stride *= bd;
    }
  }
  int64_t operator()(int64_t i) const {
    int64_t j = 0;
    for (size_t d = dims_.size(); d-- > 0;) {
      j += (i % dims_[d]) * strides_[d];
      i /= dims_[d];
    }
    return j;
  }

 private:
  Shape dims_;
  std::vector<int64_t> strides_;  // 0 along broadcast dims
};

// Reads x (any shape), target (x's shape) and pos_weight (broadcast to x) from in[first...].
struct BceInputs {
  const float* x;
  const float* t;
  const float* pw;  // nullptr without pos_weight
  BroadcastIndex pw_index;
  int64_t n;

  BceInputs(const std::vector<Tensor>& in, size_t first)
      : x(in[first].data<float>()),
        t(in[first + 1].data<float>()),
        pw(in.size() > first + 2 ? in[first + 2].data<float>() : nullptr),
        pw_index(in[first].shape(), in.size() > first + 2 ? in[first + 2].shape() : Shape{}),
        n(in[first].numel()) {}
  double log_weight(int64_t i) const { return pw ? 1.0 + (pw[pw_index(i)] - 1.0) * t[i] : 1.0; }
};

void cpu_bce_with_logits_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& a,
                                 const RunContext&) {
  const Reduction r = parse_reduction(a);
  const BceInputs b(in, 0);
  reduce_loss(r, b.n, kGrain, static_cast<double>(b.n), out[0].data<float>(), [&](int64_t i) {
    const double x = b.x[i];
    const double softplus_neg = std::max(-x, 0.0) + std::log1p(std::exp(-std::abs(x)));
    return (1.0 - b.t[i]) * x + b.log_weight(i) * softplus_neg;
  });
}

// dx = g * ((1 - t) - lw sigmoid(-x)); sigmoid(x) - t without pos_weight.
void cpu_bce_with_logits_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& a,
                                  const RunContext&) {
  const Reduction r = parse_reduction(a);
  const BceInputs b(in, 1);
  const UpstreamGrad grad = upstream_grad(r, in[0], static_cast<double>(b.n));
  float* dx = out[0].data<float>();
  parallel_range(b.n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const double x = b.x[i];
      const double e = std::exp(-std::abs(x));
      const double sigmoid_neg = x >= 0.0 ? e / (1.0 + e) : 1.0 / (1.0 + e);
      dx[i] = static_cast<float>(grad(i) * ((1.0 - b.t[i]) - b.log_weight(i) * sigmoid_neg));
    }
  });
}

std::vector<ValueId> grad_bce_with_logits(GraphBuilder& g, const GradContext& c) {
  std::vector<ValueId> grads(c.inputs.size(), kNoValue);  // target and pos_weight get no gradient
  std::vector<ValueId> args{c.grad_outputs[0]};
  args.insert(args.end(), c.inputs.begin(), c.inputs.end());
  if (c.needs_grad[0]) grads[0] = g.add1("bce_with_logits_backward", args, c.attrs);
  return grads;
}

// ---- mse -----------------------------------------------------------------
// loss = (x - t)^2. Unlike the other losses, target gets a gradient (as in
// PyTorch): mse_backward returns both dx and dtarget = -dx in one pass.

void mse_check_inputs(const std::vector<TensorSpec>& in, size_t first) {
  require_float32(in[first], "x");
  require_float32(in[first + 1], "target");
  require_same_shape(in[first], "x", in[first + 1], "target");
}

std::vector<TensorSpec> infer_mse(const std::vector<TensorSpec>& in, const Attrs& a) {
  const Reduction r = parse_reduction(a);
  mse_check_inputs(in, 0);
  return {{reduced_shape(r, in[0].shape), DType::f32}};
}

std::vector<TensorSpec> infer_mse_backward(const std::vector<TensorSpec>& in, const Attrs& a) {
  const Reduction r = parse_reduction(a);
  mse_check_inputs(in, 1);
  require_dy(in[0], r, in[1].shape, "x's shape for reduction 'none', else a scalar");
  return {in[1], in[1]};
}

void cpu_mse_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& a,
                     const RunContext&) {
  const Reduction r = parse_reduction(a);
  const float* x = in[0].data<float>();  // x, t: any shape, the same
  const float* t = in[1].data<float>();
  const int64_t n = in[0].numel();
  reduce_loss(r, n, kGrain, static_cast<double>(n), out[0].data<float>(), [&](int64_t i) {
    const double d = static_cast<double>(x[i]) - t[i];
    return d * d;
  });
}

void cpu_mse_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& a,
                      const RunContext&) {
  const Reduction r = parse_reduction(a);
  const float* x = in[1].data<float>();  // x, t, dx, dt: any shape, the same
  const float* t = in[2].data<float>();
  const int64_t n = in[1].numel();
  const UpstreamGrad grad = upstream_grad(r, in[0], static_cast<double>(n));
  float* dx = out[0].data<float>();
  float* dt = out[1].data<float>();
  parallel_range(n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float v = static_cast<float>(2.0 * grad(i) * (static_cast<double>(x[i]) - t[i]));
      dx[i] = v;
      dt[i] = -v;
    }
  });
}

std::vector<ValueId> grad_mse(GraphBuilder& g, const GradContext& c) {
  const std::vector<ValueId> d = g.add("mse_backward", {c.grad_outputs[0], c.inputs[0], c.inputs[1]}, c.attrs);
  return {c.needs_grad[0] ? d[0] : kNoValue, c.needs_grad[1] ? d[1] : kNoValue};
}

}  // namespace

TG_REGISTER_OP({"cross_entropy", {"logits", "target", "weight?"}, 1, infer_cross_entropy, cpu_cross_entropy_forward,
                grad_cross_entropy,
                "softmax cross-entropy of logits (N, C, d...) against class ids (N, d...), as F.cross_entropy; "
                "attrs ignore_index, label_smoothing, reduction"});
TG_REGISTER_OP({"cross_entropy_backward", {"dy", "logits", "target", "weight?"}, 1, infer_cross_entropy_backward,
                cpu_cross_entropy_backward, nullptr, "the gradient of cross_entropy with respect to logits"});
TG_REGISTER_OP({"bce_with_logits", {"x", "target", "pos_weight?"}, 1, infer_bce_with_logits,
                cpu_bce_with_logits_forward, grad_bce_with_logits,
                "binary cross-entropy of sigmoid(x) against target (x's shape), pos_weight broadcast to x, "
                "as F.binary_cross_entropy_with_logits; attr reduction"});
TG_REGISTER_OP({"bce_with_logits_backward", {"dy", "x", "target", "pos_weight?"}, 1, infer_bce_with_logits_backward,
                cpu_bce_with_logits_backward, nullptr, "the gradient of bce_with_logits with respect to x"});
TG_REGISTER_OP({"mse", {"x", "target"}, 1, infer_mse, cpu_mse_forward, grad_mse,
                "(x - target)^2, same shapes, as F.mse_loss; attr reduction"});
TG_REGISTER_OP({"mse_backward", {"dy", "x", "target"}, 2, infer_mse_backward, cpu_mse_backward, nullptr,
                "the gradients (dx, dtarget) of mse; dtarget = -dx"});

}  // namespace tg
