// Pointwise activations and their gradients. Each forward op's backward rule
// emits its "<op>_backward" op, which takes the incoming gradient dy and the
// saved forward input x (or output y, where the derivative is cheaper from it).
#include <cmath>
#include <string>

#include "../core/graph.h"
#include "kernel_util.h"

namespace tg {

namespace {

constexpr int64_t kGrain = 1 << 14;

template <typename Fn>
void map_unary(const Tensor& x, const Tensor& y, Fn f) {
  const float* px = x.data<float>();
  float* py = y.data<float>();
  parallel_range(x.numel(), kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) py[i] = f(px[i]);
  });
}

template <typename Fn>
void map_binary(const Tensor& dy, const Tensor& s, const Tensor& dx, Fn f) {
  const float* pd = dy.data<float>();
  const float* ps = s.data<float>();
  float* po = dx.data<float>();
  parallel_range(dy.numel(), kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) po[i] = f(pd[i], ps[i]);
  });
}

// exp only ever sees a non-positive argument, so large |x| neither overflows
// nor loses the small tail to 1 - 1.
inline float stable_sigmoid(float x) {
  if (x >= 0.0f) return 1.0f / (1.0f + std::exp(-x));
  const float e = std::exp(x);
  return e / (1.0f + e);
}

// ---- relu: y = max(x, 0); dx = dy where x > 0 ----
void cpu_relu_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                      const RunContext&) {
  // NaN passes through, as in PyTorch (a NaN compares false both ways).
  map_unary(in[0], out[0], [](float v) { return v < 0.0f ? 0.0f : v; });
}
void cpu_relu_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                       const RunContext&) {
  map_binary(in[0], in[1], out[0], [](float d, float x) { return x > 0.0f ? d : 0.0f; });
}
std::vector<ValueId> grad_relu(GraphBuilder& g, const GradContext& c) {
  return {g.add1("relu_backward", {c.grad_outputs[0], c.inputs[0]})};
}

// ---- gelu: PyTorch's two forms, selected by attribute approximate ----
// none: x Phi(x), Phi the normal CDF; tanh: 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3).
constexpr float kSqrt1_2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;  // 1 / sqrt(2 pi), the normal density at 0
constexpr float kSqrt2OverPi = 0.79788456080286536f;
constexpr float kGeluKappa = 0.044715f;

bool gelu_tanh(const Attrs& attrs) {
  const std::string a = attrs.get_string("approximate", "none");
  TG_CHECK(a == "none" || a == "tanh", "ERR_TG_ARG", "op '", attrs.op(),
           "': attribute 'approximate' must be 'none' or 'tanh', got '", a, "'");
  return a == "tanh";
}

// Both read 'approximate' so that a bad value fails when the graph is built.
std::vector<TensorSpec> infer_gelu(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  gelu_tanh(attrs);
  return infer_unary_f32(in, attrs);
}
std::vector<TensorSpec> infer_gelu_backward(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  gelu_tanh(attrs);
  return infer_backward_like_1(in, attrs);
}

void cpu_gelu_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                      const RunContext&) {
  if (gelu_tanh(attrs)) {
    // 0.5 (1 + tanh(u)) = sigmoid(2u): the same value without the cancellation
    // of 1 + tanh(u) for negative x.
    map_unary(in[0], out[0], [](float x) {
      return x * stable_sigmoid(2.0f * kSqrt2OverPi * (x + kGeluKappa * x * x * x));
    });
  } else {
    // Phi(x) = erfc(-x / sqrt 2) / 2, which keeps the relative accuracy that
    // 1 + erf(x / sqrt 2) cancels away for negative x.
    map_unary(in[0], out[0], [](float x) { return 0.5f * x * std::erfc(-x * kSqrt1_2); });
  }
}
void cpu_gelu_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                       const RunContext&) {
  if (gelu_tanh(attrs)) {
    // With s = sigmoid(2u) = 0.5 (1 + tanh(u)), 1 - tanh(u)^2 = 4 s (1 - s), so
    // PyTorch's d/dx [0.5 x (1 + tanh(u))] = 0.5 (1 + tanh(u)) + 0.5 x (1 - tanh(u)^2) u'
    // becomes s (1 + 2 x (1 - s) u').
    map_binary(in[0], in[1], out[0], [](float d, float x) {
      const float s = stable_sigmoid(2.0f * kSqrt2OverPi * (x + kGeluKappa * x * x * x));
      const float du = kSqrt2OverPi * (1.0f + 3.0f * kGeluKappa * x * x);
      return d * s * (1.0f + 2.0f * x * (1.0f - s) * du);
    });
  } else {
    map_binary(in[0], in[1], out[0], [](float d, float x) {
      const float cdf = 0.5f * std::erfc(-x * kSqrt1_2);
      const float pdf = kInvSqrt2Pi * std::exp(-0.5f * x * x);
      return d * (cdf + x * pdf);
    });
  }
}
std::vector<ValueId> grad_gelu(GraphBuilder& g, const GradContext& c) {
  Attrs a;
  a.set("approximate", c.attrs.get_string("approximate", "none"));
  return {g.add1("gelu_backward", {c.grad_outputs[0], c.inputs[0]}, a)};
}

// ---- silu: y = x sigmoid(x); dx = dy s (1 + x (1 - s)) with s = sigmoid(x) ----
void cpu_silu_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                      const RunContext&) {
  map_unary(in[0], out[0], [](float x) { return x * stable_sigmoid(x); });
}
void cpu_silu_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                       const RunContext&) {
  map_binary(in[0], in[1], out[0], [](float d, float x) {
    const float s = stable_sigmoid(x);
    return d * s * (1.0f + x * (1.0f - s));
  });
}
std::vector<ValueId> grad_silu(GraphBuilder& g, const GradContext& c) {
  return {g.add1("silu_backward", {c.grad_outputs[0], c.inputs[0]})};
}

// ---- sigmoid: y = 1 / (1 + exp(-x)); dx = dy y (1 - y) ----
void cpu_sigmoid_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                         const RunContext&) {
  map_unary(in[0], out[0], [](float x) { return stable_sigmoid(x); });
}
void cpu_sigmoid_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                          const RunContext&) {
  map_binary(in[0], in[1], out[0], [](float d, float y) { return d * y * (1.0f - y); });
}
std::vector<ValueId> grad_sigmoid(GraphBuilder& g, const GradContext& c) {
  return {g.add1("sigmoid_backward", {c.grad_outputs[0], c.outputs[0]})};
}

// ---- tanh: dx = dy (1 - y^2) ----
void cpu_tanh_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                      const RunContext&) {
  map_unary(in[0], out[0], [](float x) { return std::tanh(x); });
}
void cpu_tanh_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                       const RunContext&) {
  map_binary(in[0], in[1], out[0], [](float d, float y) { return d * (1.0f - y * y); });
}
std::vector<ValueId> grad_tanh(GraphBuilder& g, const GradContext& c) {
  return {g.add1("tanh_backward", {c.grad_outputs[0], c.outputs[0]})};
}

}  // namespace

TG_REGISTER_OP({"relu", {"x"}, 1, infer_unary_f32, cpu_relu_forward, grad_relu, "max(x, 0), elementwise"});
TG_REGISTER_OP({"relu_backward", {"dy", "x"}, 1, infer_backward_like_1, cpu_relu_backward, nullptr,
                "dy * (x > 0): the gradient of relu"});
TG_REGISTER_OP({"gelu", {"x"}, 1, infer_gelu, cpu_gelu_forward, grad_gelu,
                "x * Phi(x) elementwise, y shaped like x; approximate: 'none' (erf, default) or 'tanh'"});
TG_REGISTER_OP({"gelu_backward", {"dy", "x"}, 1, infer_gelu_backward, cpu_gelu_backward, nullptr,
                "dy * gelu'(x): the gradient of gelu, dy and x of one shape; approximate as in gelu"});
TG_REGISTER_OP({"silu", {"x"}, 1, infer_unary_f32, cpu_silu_forward, grad_silu,
                "x * sigmoid(x) elementwise, y shaped like x"});
TG_REGISTER_OP({"silu_backward", {"dy", "x"}, 1, infer_backward_like_1, cpu_silu_backward, nullptr,
                "dy * s * (1 + x * (1 - s)), s = sigmoid(x): the gradient of silu, dy and x of one shape"});
TG_REGISTER_OP({"sigmoid", {"x"}, 1, infer_unary_f32, cpu_sigmoid_forward, grad_sigmoid,
                "1 / (1 + exp(-x)) elementwise, y shaped like x"});
TG_REGISTER_OP({"sigmoid_backward", {"dy", "y"}, 1, infer_backward_like_1, cpu_sigmoid_backward, nullptr,
                "dy * y * (1 - y) from sigmoid's output y: the gradient of sigmoid, dy and y of one shape"});
TG_REGISTER_OP({"tanh", {"x"}, 1, infer_unary_f32, cpu_tanh_forward, grad_tanh,
                "tanh(x) elementwise, y shaped like x"});
TG_REGISTER_OP({"tanh_backward", {"dy", "y"}, 1, infer_backward_like_1, cpu_tanh_backward, nullptr,
                "dy * (1 - y^2) from tanh's output y: the gradient of tanh, dy and y of one shape"});

}  // namespace tg
