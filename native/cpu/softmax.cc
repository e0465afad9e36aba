// softmax and log_softmax along any axis, and their backward ops, which take
// the saved output y. The tensor is viewed as (outer, L, inner) around the
// axis; each lane (o, :, j) is one softmax. Lanes are processed kLanes at a
// time so that for inner > 1 the strided walks along L read whole cache lines.
#include <algorithm>
#include <cmath>
#include <limits>

#include "../core/graph.h"
#include "kernel_util.h"

namespace tg {

namespace {

constexpr int64_t kGrain = 1 << 14;
constexpr int64_t kLanes = 64;

struct AxisView {
  int64_t outer = 1, len = 1, inner = 1;
};

AxisView axis_view(const Shape& shape, const Attrs& attrs) {
  const int64_t axis = normalize_axis(attrs.get_int("axis", -1), static_cast<int64_t>(shape.size()),
                                      "attribute 'axis'");
  AxisView v;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    const int64_t s = shape[static_cast<size_t>(d)];
    if (d < axis) v.outer *= s;
    if (d == axis) v.len = s;
    if (d > axis) v.inner *= s;
  }
  return v;
}

// Runs fn(base, lanes) for every block of up to kLanes lanes: element l of
// lane j of the block is at base + l * v.inner + j.
template <typename Fn>
void for_lane_blocks(const AxisView& v, Fn fn) {
  const int64_t blocks = (v.inner + kLanes - 1) / kLanes;
  const int64_t per_block = v.len * std::min(v.inner, kLanes);
  parallel_range(v.outer * blocks, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, per_block)),
                 [&](int64_t b, int64_t e) {
                   for (int64_t item = b; item < e; ++item) {
                     const int64_t o = item / blocks, j0 = (item % blocks) * kLanes;
                     fn(o * v.len * v.inner + j0, std::min(kLanes, v.inner - j0));
                   }
                 });
}

// One block of `lanes` lanes, element l of lane j at l * stride + j. Row is
// the contiguous case (stride == lanes == 1): fixing both at compile time
// lets the loops along the axis vectorise.
template <bool Row>
struct Block {
  int64_t len, stride, lanes;
  Block(int64_t l, int64_t s, int64_t n) : len(l), stride(Row ? 1 : s), lanes(Row ? 1 : n) {}
};

// y = softmax(x) or log_softmax(x) along the block's lanes, shifted by the max
// so exp never overflows.
template <bool Log, bool Row>
void softmax_block(const float* px, float* py, const Block<Row>& b) {
  float mx[kLanes];
  double sum[kLanes];
  std::fill(mx, mx + b.lanes, -std::numeric_limits<float>::infinity());
  std::fill(sum, sum + b.lanes, 0.0);
  for (int64_t l = 0; l < b.len; ++l) {
    const float* p = px + l * b.stride;
    for (int64_t j = 0; j < b.lanes; ++j) mx[j] = p[j] > mx[j] ? p[j] : mx[j];
  }
  for (int64_t l = 0; l < b.len; ++l) {
    const float* p = px + l * b.stride;
    float* q = py + l * b.stride;
    for (int64_t j = 0; j < b.lanes; ++j) {
      const float e = std::exp(p[j] - mx[j]);
      if (!Log) q[j] = e;
      sum[j] += e;
    }
  }
  for (int64_t j = 0; j < b.lanes; ++j) {
    // log: y = x - (max + log sum); softmax: y = e / sum.
    sum[j] = Log ? mx[j] + std::log(sum[j]) : 1.0 / sum[j];
  }
  for (int64_t l = 0; l < b.len; ++l) {
    const float* p = px + l * b.stride;
    float* q = py + l * b.stride;
    for (int64_t j = 0; j < b.lanes; ++j) {
      q[j] = Log ? static_cast<float>(p[j] - sum[j]) : static_cast<float>(q[j] * sum[j]);
    }
  }
}

// dx = y * (dy - sum(dy * y)) for softmax; dx = dy - exp(y) * sum(dy) for log_softmax.
template <bool Log, bool Row>
void softmax_backward_block(const float* pd, const float* py, float* px, const Block<Row>& b) {
  double acc[kLanes];
  std::fill(acc, acc + b.lanes, 0.0);
  for (int64_t l = 0; l < b.len; ++l) {
    const float* d = pd + l * b.stride;
    const float* s = py + l * b.stride;
    for (int64_t j = 0; j < b.lanes; ++j) acc[j] += Log ? d[j] : d[j] * s[j];
  }
  for (int64_t l = 0; l < b.len; ++l) {
    const float* d = pd + l * b.stride;
    const float* s = py + l * b.stride;
    float* o = px + l * b.stride;
    for (int64_t j = 0; j < b.lanes; ++j) {
      o[j] = Log ? static_cast<float>(d[j] - std::exp(s[j]) * acc[j]) : static_cast<float>(s[j] * (d[j] - acc[j]));
    }
  }
}

template <bool Log>
void softmax_forward(const Tensor& x, const Tensor& y, const AxisView& v) {
  const float* px = x.data<float>();
  float* py = y.data<float>();
  for_lane_blocks(v, [&](int64_t base, int64_t lanes) {
    if (v.inner == 1) {
      softmax_block<Log>(px + base, py + base, Block<true>(v.len, v.inner, lanes));
    } else {
      softmax_block<Log>(px + base, py + base, Block<false>(v.len, v.inner, lanes));
    }
  });
}

template <bool Log>
void softmax_backward(const Tensor& dy, const Tensor& y, const Tensor& dx, const AxisView& v) {
  const float* pd = dy.data<float>();
  const float* py = y.data<float>();
  float* px = dx.data<float>();
  for_lane_blocks(v, [&](int64_t base, int64_t lanes) {
    if (v.inner == 1) {
      softmax_backward_block<Log>(pd + base, py + base, px + base, Block<true>(v.len, v.inner, lanes));
    } else {
      softmax_backward_block<Log>(pd + base, py + base, px + base, Block<false>(v.len, v.inner, lanes));
    }
  });
}

std::vector<TensorSpec> infer_softmax(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  require_float32(in[0], "x");
  axis_view(in[0].shape, attrs);  // rejects a bad axis
  return {in[0]};
}

std::vector<TensorSpec> infer_softmax_backward(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  require_float32(in[0], "dy");
  require_float32(in[1], "y");
  require_same_shape(in[0], "dy", in[1], "y");
  axis_view(in[1].shape, attrs);  // rejects a bad axis
  return {in[1]};
}

void cpu_softmax_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                         const RunContext&) {
  softmax_forward<false>(in[0], out[0], axis_view(in[0].shape(), attrs));
}
void cpu_log_softmax_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                             const RunContext&) {
  softmax_forward<true>(in[0], out[0], axis_view(in[0].shape(), attrs));
}
void cpu_softmax_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                          const RunContext&) {
  softmax_backward<false>(in[0], in[1], out[0], axis_view(in[1].shape(), attrs));
}
void cpu_log_softmax_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                              const RunContext&) {
  softmax_backward<true>(in[0], in[1], out[0], axis_view(in[1].shape(), attrs));
}

// Both gradients are cheapest from the saved output.
std::vector<ValueId> grad_softmax(GraphBuilder& g, const GradContext& c) {
  return {g.add1("softmax_backward", {c.grad_outputs[0], c.outputs[0]}, c.attrs)};
}
std::vector<ValueId> grad_log_softmax(GraphBuilder& g, const GradContext& c) {
  return {g.add1("log_softmax_backward", {c.grad_outputs[0], c.outputs[0]}, c.attrs)};
}

}  // namespace

TG_REGISTER_OP({"softmax", {"x"}, 1, infer_softmax, cpu_softmax_forward, grad_softmax,
                "exp(x) / sum(exp(x)) along `axis` (default -1)"});
TG_REGISTER_OP({"log_softmax", {"x"}, 1, infer_softmax, cpu_log_softmax_forward, grad_log_softmax,
                "x - log(sum(exp(x))) along `axis` (default -1)"});
TG_REGISTER_OP({"softmax_backward", {"dy", "y"}, 1, infer_softmax_backward, cpu_softmax_backward, nullptr,
                "y * (dy - sum(dy * y)) along `axis`: the gradient of softmax from its output y"});
TG_REGISTER_OP({"log_softmax_backward", {"dy", "y"}, 1, infer_softmax_backward, cpu_log_softmax_backward, nullptr,
                "dy - exp(y) * sum(dy) along `axis`: the gradient of log_softmax from its output y"});

}  // namespace tg
