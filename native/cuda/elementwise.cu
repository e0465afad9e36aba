// Broadcasting arithmetic on CUDA (add, sub, mul, div, div_backward_b), the
// helpers autodiff emits (neg, scale, ones_like) and the shape movers of their
// gradients (broadcast_to, sum_to): the CUDA side of cpu/elementwise.cc, with
// the same NumPy broadcasting. Every output element is one thread's work in a
// grid-stride loop; operands are read through an IndexMap whose dims are
// merged wherever all operands allow, so same-shape operands cost no index
// arithmetic.
#include <cuda_runtime.h>

#include "cuda_kernels.cuh"

namespace tg {

namespace {

struct AddOp {
  __device__ __forceinline__ float operator()(float a, float b) const { return a + b; }
};
struct SubOp {
  __device__ __forceinline__ float operator()(float a, float b) const { return a - b; }
};
struct MulOp {
  __device__ __forceinline__ float operator()(float a, float b) const { return a * b; }
};
struct DivOp {
  __device__ __forceinline__ float operator()(float a, float b) const { return a / b; }
};

template <typename Op>
struct Binary {
  const float* a;
  const float* b;
  __device__ __forceinline__ float operator()(const int64_t (&off)[2]) const { return Op{}(a[off[0]], b[off[1]]); }
};

// a, b: broadcastable; y: their broadcast shape
template <typename Op>
void broadcast_binary(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const char* op) {
  const Tensor &a = in[0], &b = in[1], &y = out[0];
  const IndexMap<2> m = broadcast_map<2>(y.shape(), {&a.shape(), &b.shape()}, op);
  launch_map_indexed(m, y.numel(), y.data<float>(), Binary<Op>{a.data<float>(), b.data<float>()});
}

void cuda_add_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                      const RunContext&) {
  broadcast_binary<AddOp>(in, out, "add");
}
void cuda_sub_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                      const RunContext&) {
  broadcast_binary<SubOp>(in, out, "sub");
}
void cuda_mul_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                      const RunContext&) {
  broadcast_binary<MulOp>(in, out, "mul");
}
void cuda_div_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                      const RunContext&) {
  broadcast_binary<DivOp>(in, out, "div");
}

// (a / b) / b rather than a / (b * b): b * b overflows or underflows sooner.
struct DivBackwardB {
  const float* dy;
  const float* a;
  const float* b;
  __device__ __forceinline__ float operator()(const int64_t (&off)[3]) const {
    const float bv = b[off[2]];
    return -dy[off[0]] * (a[off[1]] / bv) / bv;
  }
};

// dy, db: (S); a, b: broadcastable to S
void cuda_div_backward_b(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                         const RunContext&) {
  const Tensor& db = out[0];
  const IndexMap<3> m = broadcast_map<3>(db.shape(), {&in[0].shape(), &in[1].shape(), &in[2].shape()},
                                         "div_backward_b");
  launch_map_indexed(m, db.numel(), db.data<float>(),
                     DivBackwardB{in[0].data<float>(), in[1].data<float>(), in[2].data<float>()});
}

// x, y: (n)
__global__ void affine_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t n, float scale,
                              float bias) {
  for (int64_t i = thread_index(); i < n; i += thread_count()) y[i] = x[i] * scale + bias;
}

void affine(const Tensor& x, const Tensor& y, float scale, float bias) {
  const int64_t n = x.numel();
  if (n == 0) return;
  affine_kernel<<<grid_for(n), kBlock>>>(x.data<float>(), y.data<float>(), n, scale, bias);
  check_launch("affine_kernel");
}

// x, y: (S)
void cuda_neg_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                      const RunContext&) {
  affine(in[0], out[0], -1.0f, 0.0f);
}

// x, y: (S)
void cuda_scale_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                        const RunContext&) {
  affine(in[0], out[0], static_cast<float>(attrs.get_float("value", 0.0)),
         static_cast<float>(attrs.get_float("bias", 0.0)));
}

// x, y: (S)
void cuda_ones_like_forward(const std::vector<Tensor>&, const std::vector<Tensor>& out, const Attrs&,
                            const RunContext&) {
  cuda_fill(out[0].data<float>(), out[0].numel(), 1.0f);
}

// x: broadcastable to S; y: (S)
void cuda_broadcast_to_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                               const RunContext&) {
  const IndexMap<1> m = broadcast_map<1>(out[0].shape(), {&in[0].shape()}, "broadcast_to");
  launch_map_indexed(m, out[0].numel(), out[0].data<float>(), ReadAt<float>{in[0].data<float>()});
}

// x: (S); y: (T), T broadcastable to S. The dims of S that T stretches (size 1
// or missing in T, larger in S) are summed; the rest keep T's element order.
void cuda_sum_to_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                         const RunContext&) {
  const Shape& s = in[0].shape();
  const Shape& t = out[0].shape();
  std::vector<bool> reduced(s.size());
  for (size_t i = 0; i < s.size(); ++i) {  // i counts dims from the right
    const int64_t td = i < t.size() ? t[t.size() - 1 - i] : 1;
    reduced[s.size() - 1 - i] = td != s[s.size() - 1 - i];
  }
  cuda_reduce_sum(in[0].data<float>(), s, reduced, out[0].data<float>(), 1.0f);
}

}  // namespace

TG_REGISTER_CUDA_KERNEL("add", cuda_add_forward);
TG_REGISTER_CUDA_KERNEL("sub", cuda_sub_forward);
TG_REGISTER_CUDA_KERNEL("mul", cuda_mul_forward);
TG_REGISTER_CUDA_KERNEL("div", cuda_div_forward);
TG_REGISTER_CUDA_KERNEL("div_backward_b", cuda_div_backward_b);
TG_REGISTER_CUDA_KERNEL("neg", cuda_neg_forward);
TG_REGISTER_CUDA_KERNEL("scale", cuda_scale_forward);
TG_REGISTER_CUDA_KERNEL("ones_like", cuda_ones_like_forward);
TG_REGISTER_CUDA_KERNEL("broadcast_to", cuda_broadcast_to_forward);
TG_REGISTER_CUDA_KERNEL("sum_to", cuda_sum_to_forward);

}  // namespace tg
