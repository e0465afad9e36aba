// Loss functions on CUDA with torch.nn.functional semantics (cross_entropy
// with class-index targets, bce_with_logits, mse; reduction 'mean', 'sum' or
// 'none') and their backward ops: the CUDA side of cpu/loss.cc. Per-element
// losses go to a scratch array that cuda_reduce_sum adds up; cross_entropy
// gives each position a warp, whose lanes split the classes. Targets are
// checked on the device before any logit is read through them, and a bad one
// fails with the CPU's message.
#include <cuda_runtime.h>

#include <string>

#include "../cpu/kernel_util.h"
#include "cuda_kernels.cuh"

namespace tg {

namespace {

constexpr int kWarpsPerBlock = kBlock / 32;

// Where 'mean' divides: by the element count (bce, mse), or by a sum computed
// on the device (cross_entropy's total target weight).
struct Upstream {
  const float* dy;      // (S) for reduction 'none', else a scalar
  const float* denom;   // device scalar dividing dy, or nullptr
  float scale;          // multiplies dy
  __device__ __forceinline__ float operator()(int64_t off) const {
    const float g = dy[off] * scale;
    return denom ? g / *denom : g;
  }
};

// out: a scalar, sum(values) or sum(values) / *denom.
__global__ void divide_kernel(const float* __restrict__ sum, const float* __restrict__ denom,
                              float* __restrict__ out) {
  if (thread_index() == 0) *out = denom ? *sum / *denom : *sum;
}

// values: (n) per-element losses -> out: reduced as the attribute says.
void reduce_losses(Reduction r, const float* values, int64_t n, float* out) {
  cuda_reduce_sum(values, {n}, {true}, out, r == Reduction::mean ? static_cast<float>(1.0 / static_cast<double>(n))
                                                                  : 1.0f);
}

// ---- cross_entropy -------------------------------------------------------
// loss_i = (1 - eps) w[t] (lse - z[t]) + eps / C * sum_c w[c] (lse - z[c]), 0 where
// t == ignore_index; 'mean' divides by the sum of w[t] over non-ignored positions.

struct CeConfig {
  Reduction reduction;
  int64_t ignore_index;
  float smoothing;
};

CeConfig ce_config(const Attrs& a) {
  return CeConfig{parse_reduction(a), a.get_int("ignore_index", -100),
                  static_cast<float>(a.get_float("label_smoothing", 0.0))};
}

// logits: (N, C, S) with S the product of the spatial dims.
struct CeShape {
  int64_t n, c, s;
};

CeShape ce_shape(const Tensor& logits) {
  return CeShape{logits.size(0), logits.size(1), shape_numel(Shape(logits.shape().begin() + 2, logits.shape().end()))};
}

void ce_check_targets(const Tensor& target, const CeShape& p, const CeConfig& cfg, const std::string& op) {
  const BadIndex bad = cuda_find_bad_index(target, p.c, &cfg.ignore_index);
  if (bad.position >= 0) {
    fail("ERR_TG_ARG", op, ": target", index_str(bad.position, target.shape()), " = ", bad.value,
         " is out of range for ", p.c, " classes (ignore_index is ", cfg.ignore_index, ")");
  }
}

// The log-sum-exp of one position's logits z[k * s], k < c, over the warp's lanes;
// every lane gets it.
__device__ __forceinline__ float warp_lse(const float* __restrict__ z, int64_t c, int64_t s, int lane) {
  float mx = -INFINITY;
  for (int64_t k = lane; k < c; k += 32) mx = fmaxf(mx, z[k * s]);
  mx = warp_reduce(mx, MaxOp{});
  float sum = 0.0f;
  for (int64_t k = lane; k < c; k += 32) sum += expf(z[k * s] - mx);
  return mx + logf(warp_reduce(sum, SumOp{}));
}

// logits: (N, C, S); target: (N, S); weight: (C) or nullptr; loss, tw: (N, S),
// the loss and the target's weight (0 where ignored) of each position.
template <typename T>
__global__ void ce_forward_kernel(const float* __restrict__ logits, const T* __restrict__ target,
                                  const float* __restrict__ weight, CeShape p, int64_t ignore, float smoothing,
                                  float* __restrict__ loss, float* __restrict__ tw) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = thread_count() / 32;
  for (int64_t i = thread_index() / 32; i < p.n * p.s; i += warps) {  // uniform per warp
    const int64_t t = static_cast<int64_t>(target[i]);
    if (t == ignore) {
      if (lane == 0) loss[i] = tw[i] = 0.0f;
      continue;
    }
    const float* z = logits + (i / p.s) * p.c * p.s + i % p.s;
    const float lse = warp_lse(z, p.c, p.s, lane);
    const float wt = weight ? weight[t] : 1.0f;
    float v = (1.0f - smoothing) * wt * (lse - z[t * p.s]);
    if (smoothing > 0.0f) {
      // Each term w[c] (lse - z[c]) is non-negative: no cancellation.
      float acc = 0.0f;
      for (int64_t k = lane; k < p.c; k += 32) acc += (weight ? weight[k] : 1.0f) * (lse - z[k * p.s]);
      v += smoothing / static_cast<float>(p.c) * warp_reduce(acc, SumOp{});
    }
    if (lane == 0) {
      loss[i] = v;
      tw[i] = wt;
    }
  }
}

// target: (N, S) -> tw: (N, S), w[t] or 0 where ignored.
template <typename T>
__global__ void ce_target_weight_kernel(const T* __restrict__ target, const float* __restrict__ weight, int64_t n,
                                        int64_t ignore, float* __restrict__ tw) {
  for (int64_t i = thread_index(); i < n; i += thread_count()) {
    const int64_t t = static_cast<int64_t>(target[i]);
    tw[i] = t == ignore ? 0.0f : (weight ? weight[t] : 1.0f);
  }
}

// d loss_i / d z_k = g_i ((a + b W) softmax_k - b w[k] - a [k == t]), with
// a = (1 - eps) w[t], b = eps / C, W = sum_c w[c].
// logits, dz: (N, C, S); target: (N, S); weight: (C) or nullptr.
template <typename T>
__global__ void ce_backward_kernel(Upstream up, bool elementwise, const float* __restrict__ logits,
                                   const T* __restrict__ target, const float* __restrict__ weight, CeShape p,
                                   int64_t ignore, float smoothing, float* __restrict__ dz_all) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = thread_count() / 32;
  const float b = smoothing / static_cast<float>(p.c);
  for (int64_t i = thread_index() / 32; i < p.n * p.s; i += warps) {
    const int64_t offset = (i / p.s) * p.c * p.s + i % p.s;
    float* dz = dz_all + offset;
    const int64_t t = static_cast<int64_t>(target[i]);
    if (t == ignore) {
      for (int64_t k = lane; k < p.c; k += 32) dz[k * p.s] = 0.0f;
      continue;
    }
    const float* z = logits + offset;
    const float lse = warp_lse(z, p.c, p.s, lane);
    float wsum = 0.0f;
    if (smoothing > 0.0f) {
      for (int64_t k = lane; k < p.c; k += 32) wsum += weight ? weight[k] : 1.0f;
      wsum = warp_reduce(wsum, SumOp{});
    }
    const float g = up(elementwise ? i : 0);
    const float at = (1.0f - smoothing) * (weight ? weight[t] : 1.0f);
    const float coef = at + b * wsum;
    for (int64_t k = lane; k < p.c; k += 32) {
      const float wk = weight ? weight[k] : 1.0f;
      dz[k * p.s] = g * (coef * expf(z[k * p.s] - lse) - b * wk) - (k == t ? g * at : 0.0f);
    }
  }
}

template <typename Fn>
void with_target_type(const Tensor& target, Fn&& fn) {
  if (target.dtype() == DType::i32) {
    fn(target.data<int32_t>());
  } else {
    fn(target.data<int64_t>());
  }
}

// logits: (N, C, d...); target: (N, d...); weight: (C)?; loss: target's shape or a scalar
void cuda_cross_entropy_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& a,
                                const RunContext&) {
  const CeConfig cfg = ce_config(a);
  const CeShape p = ce_shape(in[0]);
  ce_check_targets(in[1], p, cfg, a.op());
  const float* weight = in.size() > 2 ? in[2].data<float>() : nullptr;
  const int64_t positions = p.n * p.s;
  float* y = out[0].data<float>();
  if (positions == 0) {
    // No position: 0 for 'sum' and NaN (0 / 0) for 'mean', as on the CPU.
    if (cfg.reduction != Reduction::none) cuda_fill(y, 1, cfg.reduction == Reduction::mean ? NAN : 0.0f);
    return;
  }
  const bool none = cfg.reduction == Reduction::none;
  Tensor loss = none ? out[0] : cuda_scratch({positions}, DType::f32);
  Tensor tw = cuda_scratch({positions}, DType::f32);
  with_target_type(in[1], [&](const auto* target) {
    ce_forward_kernel<<<grid_for(positions, kWarpsPerBlock), kBlock>>>(in[0].data<float>(), target, weight, p,
                                                                       cfg.ignore_index, cfg.smoothing,
                                                                       loss.data<float>(), tw.data<float>());
  });
  check_launch("ce_forward_kernel");
  if (none) return;
  Tensor sums = cuda_scratch({2}, DType::f32);
  float* s = sums.data<float>();
  cuda_reduce_sum(loss.data<float>(), {positions}, {true}, s, 1.0f);
  if (cfg.reduction == Reduction::mean) cuda_reduce_sum(tw.data<float>(), {positions}, {true}, s + 1, 1.0f);
  divide_kernel<<<1, 32>>>(s, cfg.reduction == Reduction::mean ? s + 1 : nullptr, y);
  check_launch("divide_kernel");
}

// dy: target's shape or a scalar; logits, dz: (N, C, d...); target: (N, d...); weight: (C)?
void cuda_cross_entropy_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& a,
                                 const RunContext&) {
  const CeConfig cfg = ce_config(a);
  const CeShape p = ce_shape(in[1]);
  ce_check_targets(in[2], p, cfg, a.op());
  const float* weight = in.size() > 3 ? in[3].data<float>() : nullptr;
  const int64_t positions = p.n * p.s;
  if (positions == 0 || p.c == 0) return;
  Tensor total;
  Upstream up{in[0].data<float>(), nullptr, 1.0f};
  if (cfg.reduction == Reduction::mean) {
    Tensor tw = cuda_scratch({positions}, DType::f32);
    total = cuda_scratch({1}, DType::f32);
    with_target_type(in[2], [&](const auto* target) {
      ce_target_weight_kernel<<<grid_for(positions), kBlock>>>(target, weight, positions, cfg.ignore_index,
                                                               tw.data<float>());
    });
    check_launch("ce_target_weight_kernel");
    cuda_reduce_sum(tw.data<float>(), {positions}, {true}, total.data<float>(), 1.0f);
    up.denom = total.data<float>();
  }
  with_target_type(in[2], [&](const auto* target) {
    ce_backward_kernel<<<grid_for(positions, kWarpsPerBlock), kBlock>>>(
        up, cfg.reduction == Reduction::none, in[1].data<float>(), target, weight, p, cfg.ignore_index,
        cfg.smoothing, out[0].data<float>());
  });
  check_launch("ce_backward_kernel");
}

// ---- bce_with_logits -------------------------------------------------------
// loss = (1 - t) x + lw softplus(-x), lw = 1 + (pos_weight - 1) t (1 without
// pos_weight); softplus(-x) = max(-x, 0) + log1p(exp(-|x|)) never overflows.

// Stands in for the shape of an absent pos_weight (never read: pw is null).
const Shape kScalar{};

struct BceLoss {
  const float* x;
  const float* t;
  const float* pw;  // nullptr without pos_weight
  __device__ __forceinline__ float operator()(const int64_t (&off)[3]) const {
    const float xv = x[off[0]], tv = t[off[1]];
    const float lw = pw ? 1.0f + (pw[off[2]] - 1.0f) * tv : 1.0f;
    const float softplus_neg = fmaxf(-xv, 0.0f) + log1pf(expf(-fabsf(xv)));
    return (1.0f - tv) * xv + lw * softplus_neg;
  }
};

// dx = g ((1 - t) - lw sigmoid(-x)).
struct BceBackward {
  Upstream up;
  const float* x;
  const float* t;
  const float* pw;
  __device__ __forceinline__ float operator()(const int64_t (&off)[4]) const {
    const float xv = x[off[1]], tv = t[off[2]];
    const float lw = pw ? 1.0f + (pw[off[3]] - 1.0f) * tv : 1.0f;
    const float e = expf(-fabsf(xv));
    const float sigmoid_neg = xv >= 0.0f ? e / (1.0f + e) : 1.0f / (1.0f + e);
    return up(off[0]) * ((1.0f - tv) - lw * sigmoid_neg);
  }
};

// x, target: (S); pos_weight: broadcastable to S; loss: (S) or a scalar
void cuda_bce_with_logits_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& a,
                                  const RunContext&) {
  const Reduction r = parse_reduction(a);
  const Tensor& x = in[0];
  const bool has_pw = in.size() > 2;
  const int64_t n = x.numel();
  const IndexMap<3> m = broadcast_map<3>(x.shape(), {&x.shape(), &x.shape(), has_pw ? &in[2].shape() : &kScalar},
                                         "bce_with_logits");
  const BceLoss f{x.data<float>(), in[1].data<float>(), has_pw ? in[2].data<float>() : nullptr};
  if (r == Reduction::none) {
    launch_map_indexed(m, n, out[0].data<float>(), f);
    return;
  }
  Tensor loss = cuda_scratch({n}, DType::f32);
  launch_map_indexed(m, n, loss.data<float>(), f);
  reduce_losses(r, loss.data<float>(), n, out[0].data<float>());
}

// dy: (S) or a scalar; x, target, dx: (S); pos_weight: broadcastable to S
void cuda_bce_with_logits_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& a,
                                   const RunContext&) {
  const Reduction r = parse_reduction(a);
  const Tensor& x = in[1];
  const bool has_pw = in.size() > 3;
  const int64_t n = x.numel();
  const IndexMap<4> m = broadcast_map<4>(
      x.shape(), {&in[0].shape(), &x.shape(), &x.shape(), has_pw ? &in[3].shape() : &kScalar},
      "bce_with_logits_backward");
  const float scale = r == Reduction::mean ? static_cast<float>(1.0 / static_cast<double>(n)) : 1.0f;
  launch_map_indexed(m, n, out[0].data<float>(),
                     BceBackward{Upstream{in[0].data<float>(), nullptr, scale}, x.data<float>(), in[2].data<float>(),
                                 has_pw ? in[3].data<float>() : nullptr});
}

// ---- mse -----------------------------------------------------------------

struct SquaredError {
  const float* x;
  const float* t;
  __device__ __forceinline__ float operator()(const int64_t (&off)[2]) const {
    const float d = x[off[0]] - t[off[1]];
    return d * d;
  }
};

// x, target: (S); loss: (S) or a scalar
void cuda_mse_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& a,
                      const RunContext&) {
  const Reduction r = parse_reduction(a);
  const Tensor& x = in[0];
  const int64_t n = x.numel();
  const IndexMap<2> m = broadcast_map<2>(x.shape(), {&x.shape(), &x.shape()}, "mse");
  const SquaredError f{x.data<float>(), in[1].data<float>()};
  if (r == Reduction::none) {
    launch_map_indexed(m, n, out[0].data<float>(), f);
    return;
  }
  Tensor loss = cuda_scratch({n}, DType::f32);
  launch_map_indexed(m, n, loss.data<float>(), f);
  reduce_losses(r, loss.data<float>(), n, out[0].data<float>());
}

// dy: (n) or a scalar (dy_step 0); x, t, dx, dt: (n). dx = 2 g (x - t), dt = -dx.
__global__ void mse_backward_kernel(Upstream up, int64_t dy_step, const float* __restrict__ x,
                                    const float* __restrict__ t, float* __restrict__ dx, float* __restrict__ dt,
                                    int64_t n) {
  for (int64_t i = thread_index(); i < n; i += thread_count()) {
    const float v = 2.0f * up(i * dy_step) * (x[i] - t[i]);
    dx[i] = v;
    dt[i] = -v;
  }
}

void cuda_mse_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& a,
                       const RunContext&) {
  const Reduction r = parse_reduction(a);
  const int64_t n = in[1].numel();
  if (n == 0) return;
  const float scale = r == Reduction::mean ? static_cast<float>(1.0 / static_cast<double>(n)) : 1.0f;
  mse_backward_kernel<<<grid_for(n), kBlock>>>(Upstream{in[0].data<float>(), nullptr, scale},
                                               r == Reduction::none ? 1 : 0, in[1].data<float>(),
                                               in[2].data<float>(), out[0].data<float>(), out[1].data<float>(), n);
  check_launch("mse_backward_kernel");
}

}  // namespace

TG_REGISTER_CUDA_KERNEL("cross_entropy", cuda_cross_entropy_forward);
TG_REGISTER_CUDA_KERNEL("cross_entropy_backward", cuda_cross_entropy_backward);
TG_REGISTER_CUDA_KERNEL("bce_with_logits", cuda_bce_with_logits_forward);
TG_REGISTER_CUDA_KERNEL("bce_with_logits_backward", cuda_bce_with_logits_backward);
TG_REGISTER_CUDA_KERNEL("mse", cuda_mse_forward);
TG_REGISTER_CUDA_KERNEL("mse_backward", cuda_mse_backward);

}  // namespace tg
