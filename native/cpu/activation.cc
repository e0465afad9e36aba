// Pointwise activations and their gradients. Each forward op's backward rule
// emits its "<op>_backward" op, which takes the incoming gradient dy and the
// saved forward input x (or output y, where the derivative is cheaper from it).
#include <cmath>

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

// ---- relu: y = max(x, 0); dx = dy where x > 0 ----
void cpu_relu_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                      const RunContext&) {
  map_unary(in[0], out[0], [](float v) { return v > 0.0f ? v : 0.0f; });
}
void cpu_relu_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                       const RunContext&) {
  map_binary(in[0], in[1], out[0], [](float d, float x) { return x > 0.0f ? d : 0.0f; });
}
std::vector<ValueId> grad_relu(GraphBuilder& g, const GradContext& c) {
  return {g.add1("relu_backward", {c.grad_outputs[0], c.inputs[0]})};
}

}  // namespace

TG_REGISTER_OP({"relu", {"x"}, 1, infer_unary_f32, cpu_relu_forward, grad_relu, "max(x, 0), elementwise"});
TG_REGISTER_OP({"relu_backward", {"dy", "x"}, 1, infer_backward_like_1, cpu_relu_backward, nullptr,
                "dy * (x > 0): the gradient of relu"});

}  // namespace tg
