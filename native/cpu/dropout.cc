// Inverted dropout: y = x * mask, mask = 0 with probability p, else 1 / (1 - p),
// so the expected value of y is x and evaluation needs no rescaling. The keep
// decision for element i is a pure function of (seed, step, i), computed by a
// counter-based hash, so the mask is the same for any thread count or chunking
// and the backward pass can reuse the saved mask instead of redrawing it.
#include <cmath>

#include "../core/graph.h"
#include "kernel_util.h"

namespace tg {

namespace {

constexpr int64_t kGrain = 1 << 14;
constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ull;

// SplitMix64's output function: a bijective mix whose output bits all depend
// on every input bit.
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double dropout_p(const Attrs& attrs) {
  TG_CHECK(attrs.has("p"), "ERR_TG_ARG", "attribute 'p' is required");
  const double p = attrs.get_float("p", 0.0);
  TG_CHECK(p >= 0.0 && p < 1.0, "ERR_TG_ARG", "attribute 'p' must be in [0, 1), got ", p);
  return p;
}

std::vector<TensorSpec> infer_dropout(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  require_float32(in[0], "x");
  dropout_p(attrs);  // rejects a bad p before any run
  return {in[0], in[0]};
}

// x, y, mask: same shape.
void cpu_dropout_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                         const RunContext& ctx) {
  const double p = dropout_p(attrs);
  const float* px = in[0].data<float>();
  float* py = out[0].data<float>();
  float* pm = out[1].data<float>();
  if (!ctx.training || p == 0.0) {
    parallel_range(in[0].numel(), kGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        py[i] = px[i];
        pm[i] = 1.0f;
      }
    });
    return;
  }
  // Element i is the i-th draw of a SplitMix64 stream keyed by (seed, step);
  // its top 53 bits, as an integer, are dropped below p * 2^53 (exact in a double).
  const uint64_t seed = static_cast<uint64_t>(attrs.get_int("seed", 0));
  const uint64_t stream = mix64(seed ^ mix64(ctx.step + kGolden));
  const uint64_t threshold = static_cast<uint64_t>(std::ldexp(p, 53));
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  parallel_range(in[0].numel(), kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const uint64_t draw = mix64(stream + kGolden * (static_cast<uint64_t>(i) + 1)) >> 11;
      const float m = draw >= threshold ? scale : 0.0f;
      pm[i] = m;
      py[i] = px[i] * m;
    }
  });
}

// dx = dy * mask.
void cpu_dropout_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                          const RunContext&) {
  const float* pd = in[0].data<float>();
  const float* pm = in[1].data<float>();
  float* px = out[0].data<float>();
  parallel_range(in[0].numel(), kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) px[i] = pd[i] * pm[i];
  });
}

std::vector<TensorSpec> infer_dropout_backward(const std::vector<TensorSpec>& in, const Attrs&) {
  require_float32(in[0], "dy");
  require_float32(in[1], "mask");
  require_same_shape(in[0], "dy", in[1], "mask");
  return {in[0]};
}

// The mask output is a constant of the run: only y carries a gradient.
std::vector<ValueId> grad_dropout(GraphBuilder& g, const GradContext& c) {
  if (c.grad_outputs[0] == kNoValue) return {kNoValue};
  return {g.add1("dropout_backward", {c.grad_outputs[0], c.outputs[1]})};
}

}  // namespace

TG_REGISTER_OP({"dropout", {"x"}, 2, infer_dropout, cpu_dropout_forward, grad_dropout,
                "(y, mask): mask = 0 w.p. p else 1/(1-p), y = x * mask; identity when not training. Attrs p, seed"});
TG_REGISTER_OP({"dropout_backward", {"dy", "mask"}, 1, infer_dropout_backward, cpu_dropout_backward, nullptr,
                "dy * mask: the gradient of dropout"});

}  // namespace tg
