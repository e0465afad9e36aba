// Robust regression losses on CUDA, as F.smooth_l1_loss and F.huber_loss, with
// d = x - target and z = |d| (the CUDA side of cpu/huber.cc):
//   smooth_l1{beta=1}: 0.5 z^2 / beta where z < beta, else z - 0.5 beta (beta 0: plain L1)
//   huber{delta=1}:    0.5 z^2 where z < delta, else delta (z - 0.5 delta)
// Per-element losses are summed by cuda_reduce_sum for 'mean' and 'sum'.
#include <cuda_runtime.h>

#include "../cpu/kernel_util.h"
#include "cuda_kernels.cuh"

namespace tg {

namespace {

enum class Kind { huber, smooth_l1, l1 };

// With m = min(|d|, t): huber = 0.5 m^2 + t (|d| - m), smooth_l1 = 0.5 m^2 / t + (|d| - m).
struct Pointwise {
  Kind kind;
  float t, inv;  // the threshold and 1 / t (0 for l1)

  __device__ __forceinline__ float loss(float d) const {
    const float z = fabsf(d);
    if (kind == Kind::l1) return z;
    const float m = fminf(z, t);
    if (kind == Kind::huber) return 0.5f * m * m + t * (z - m);
    return 0.5f * m * m * inv + (z - m);
  }
  // d loss / d d; for L1, -1 at d = 0 as in PyTorch.
  __device__ __forceinline__ float slope(float d) const {
    if (kind == Kind::l1) return d <= 0.0f ? -1.0f : 1.0f;
    const float c = fminf(fmaxf(d, -t), t);
    return kind == Kind::huber ? c : c * inv;
  }
};

Pointwise pointwise(const Attrs& a, bool huber) {
  const double t = a.get_float(huber ? "delta" : "beta", 1.0);
  const Kind kind = huber ? Kind::huber : t > 0.0 ? Kind::smooth_l1 : Kind::l1;
  return Pointwise{kind, static_cast<float>(t), t > 0.0 ? static_cast<float>(1.0 / t) : 0.0f};
}

struct Loss {
  Pointwise p;
  const float* x;
  const float* t;
  __device__ __forceinline__ float operator()(const int64_t (&off)[2]) const { return p.loss(x[off[0]] - t[off[1]]); }
};

// dy is x's shape ('none') or a scalar broadcast to it.
struct Backward {
  Pointwise p;
  const float* dy;
  const float* x;
  const float* t;
  float scale;  // 1 / n for 'mean'
  __device__ __forceinline__ float operator()(const int64_t (&off)[3]) const {
    return dy[off[0]] * scale * p.slope(x[off[1]] - t[off[2]]);
  }
};

// x, target: (S); y: (S) for 'none', else a scalar (NaN for the mean of nothing)
void loss_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& a, bool huber) {
  const Reduction r = parse_reduction(a);
  const Tensor& x = in[0];
  const int64_t n = x.numel();
  const IndexMap<2> m = broadcast_map<2>(x.shape(), {&x.shape(), &x.shape()}, huber ? "huber" : "smooth_l1");
  const Loss f{pointwise(a, huber), x.data<float>(), in[1].data<float>()};
  if (r == Reduction::none) {
    launch_map_indexed(m, n, out[0].data<float>(), f);
    return;
  }
  Tensor loss = cuda_scratch({n}, DType::f32);
  launch_map_indexed(m, n, loss.data<float>(), f);
  cuda_reduce_sum(loss.data<float>(), {n}, {true}, out[0].data<float>(),
                  r == Reduction::mean ? static_cast<float>(1.0 / static_cast<double>(n)) : 1.0f);
}

// dy: (S) or a scalar; x, target, dx: (S)
void loss_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& a, bool huber) {
  const Reduction r = parse_reduction(a);
  const Tensor& x = in[1];
  const int64_t n = x.numel();
  const IndexMap<3> m = broadcast_map<3>(x.shape(), {&in[0].shape(), &x.shape(), &x.shape()},
                                         huber ? "huber_backward" : "smooth_l1_backward");
  const float scale = r == Reduction::mean ? static_cast<float>(1.0 / static_cast<double>(n)) : 1.0f;
  launch_map_indexed(m, n, out[0].data<float>(),
                     Backward{pointwise(a, huber), in[0].data<float>(), x.data<float>(), in[2].data<float>(), scale});
}

void cuda_smooth_l1_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& a,
                            const RunContext&) {
  loss_forward(in, out, a, false);
}
void cuda_huber_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& a,
                        const RunContext&) {
  loss_forward(in, out, a, true);
}
void cuda_smooth_l1_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& a,
                             const RunContext&) {
  loss_backward(in, out, a, false);
}
void cuda_huber_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& a,
                         const RunContext&) {
  loss_backward(in, out, a, true);
}

}  // namespace

TG_REGISTER_CUDA_KERNEL("smooth_l1", cuda_smooth_l1_forward);
TG_REGISTER_CUDA_KERNEL("smooth_l1_backward", cuda_smooth_l1_backward);
TG_REGISTER_CUDA_KERNEL("huber", cuda_huber_forward);
TG_REGISTER_CUDA_KERNEL("huber_backward", cuda_huber_backward);

}  // namespace tg
