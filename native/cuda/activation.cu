// Pointwise activations on CUDA and their gradients (relu, gelu in both of
// PyTorch's forms, silu, sigmoid, tanh): the CUDA side of cpu/activation.cc,
// with the same formulas, chosen there for accuracy at large |x|. Backward ops
// take dy and the saved input x, or the output y where that is cheaper.
#include <cuda_runtime.h>

#include <string>

#include "cuda_kernels.cuh"

namespace tg {

namespace {

constexpr float kSqrt1_2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;  // 1 / sqrt(2 pi), the normal density at 0
constexpr float kSqrt2OverPi = 0.79788456080286536f;
constexpr float kGeluKappa = 0.044715f;

// exp only ever sees a non-positive argument, so large |x| neither overflows
// nor loses the small tail to 1 - 1.
__device__ __forceinline__ float stable_sigmoid(float x) {
  if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
  const float e = expf(x);
  return e / (1.0f + e);
}

// x, y: (n)
template <typename F>
__global__ void unary_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t n, F f) {
  for (int64_t i = thread_index(); i < n; i += thread_count()) y[i] = f(x[i]);
}

// dy, s (the saved x or y), dx: (n)
template <typename F>
__global__ void backward_kernel(const float* __restrict__ dy, const float* __restrict__ s, float* __restrict__ dx,
                                int64_t n, F f) {
  for (int64_t i = thread_index(); i < n; i += thread_count()) dx[i] = f(dy[i], s[i]);
}

template <typename F>
void map_unary(const std::vector<Tensor>& in, const std::vector<Tensor>& out, F f) {
  const int64_t n = in[0].numel();
  if (n == 0) return;
  unary_kernel<<<grid_for(n), kBlock>>>(in[0].data<float>(), out[0].data<float>(), n, f);
  check_launch("unary_kernel");
}

template <typename F>
void map_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, F f) {
  const int64_t n = in[0].numel();
  if (n == 0) return;
  backward_kernel<<<grid_for(n), kBlock>>>(in[0].data<float>(), in[1].data<float>(), out[0].data<float>(), n, f);
  check_launch("backward_kernel");
}

bool gelu_tanh(const Attrs& attrs) { return attrs.get_string("approximate", "none") == "tanh"; }

// NaN passes through, as in PyTorch (a NaN compares false both ways).
struct Relu {
  __device__ __forceinline__ float operator()(float x) const { return x < 0.0f ? 0.0f : x; }
};
struct ReluBackward {
  __device__ __forceinline__ float operator()(float d, float x) const { return x > 0.0f ? d : 0.0f; }
};

// 0.5 (1 + tanh(u)) = sigmoid(2u): the same value without the cancellation of
// 1 + tanh(u) for negative x.
struct GeluTanh {
  __device__ __forceinline__ float operator()(float x) const {
    return x * stable_sigmoid(2.0f * kSqrt2OverPi * (x + kGeluKappa * x * x * x));
  }
};
// Phi(x) = erfc(-x / sqrt 2) / 2 keeps the relative accuracy that
// 1 + erf(x / sqrt 2) cancels away for negative x.
struct GeluErf {
  __device__ __forceinline__ float operator()(float x) const { return 0.5f * x * erfcf(-x * kSqrt1_2); }
};
// With s = sigmoid(2u): d/dx = s (1 + 2 x (1 - s) u').
struct GeluTanhBackward {
  __device__ __forceinline__ float operator()(float d, float x) const {
    const float s = stable_sigmoid(2.0f * kSqrt2OverPi * (x + kGeluKappa * x * x * x));
    const float du = kSqrt2OverPi * (1.0f + 3.0f * kGeluKappa * x * x);
    return d * s * (1.0f + 2.0f * x * (1.0f - s) * du);
  }
};
struct GeluErfBackward {
  __device__ __forceinline__ float operator()(float d, float x) const {
    const float cdf = 0.5f * erfcf(-x * kSqrt1_2);
    const float pdf = kInvSqrt2Pi * expf(-0.5f * x * x);
    return d * (cdf + x * pdf);
  }
};

struct Silu {
  __device__ __forceinline__ float operator()(float x) const { return x * stable_sigmoid(x); }
};
struct SiluBackward {
  __device__ __forceinline__ float operator()(float d, float x) const {
    const float s = stable_sigmoid(x);
    return d * s * (1.0f + x * (1.0f - s));
  }
};

struct Sigmoid {
  __device__ __forceinline__ float operator()(float x) const { return stable_sigmoid(x); }
};
struct SigmoidBackward {
  __device__ __forceinline__ float operator()(float d, float y) const { return d * y * (1.0f - y); }
};

struct Tanh {
  __device__ __forceinline__ float operator()(float x) const { return tanhf(x); }
};
struct TanhBackward {
  __device__ __forceinline__ float operator()(float d, float y) const { return d * (1.0f - y * y); }
};

// x, y: (S); dy, x or y, dx: (S)
void cuda_relu_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                       const RunContext&) {
  map_unary(in, out, Relu{});
}
void cuda_relu_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                        const RunContext&) {
  map_backward(in, out, ReluBackward{});
}
void cuda_gelu_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                       const RunContext&) {
  if (gelu_tanh(attrs)) {
    map_unary(in, out, GeluTanh{});
  } else {
    map_unary(in, out, GeluErf{});
  }
}
void cuda_gelu_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                        const RunContext&) {
  if (gelu_tanh(attrs)) {
    map_backward(in, out, GeluTanhBackward{});
  } else {
    map_backward(in, out, GeluErfBackward{});
  }
}
void cuda_silu_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                       const RunContext&) {
  map_unary(in, out, Silu{});
}
void cuda_silu_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                        const RunContext&) {
  map_backward(in, out, SiluBackward{});
}
void cuda_sigmoid_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                          const RunContext&) {
  map_unary(in, out, Sigmoid{});
}
void cuda_sigmoid_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                           const RunContext&) {
  map_backward(in, out, SigmoidBackward{});
}
void cuda_tanh_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                       const RunContext&) {
  map_unary(in, out, Tanh{});
}
void cuda_tanh_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                        const RunContext&) {
  map_backward(in, out, TanhBackward{});
}

}  // namespace

TG_REGISTER_CUDA_KERNEL("relu", cuda_relu_forward);
TG_REGISTER_CUDA_KERNEL("relu_backward", cuda_relu_backward);
TG_REGISTER_CUDA_KERNEL("gelu", cuda_gelu_forward);
TG_REGISTER_CUDA_KERNEL("gelu_backward", cuda_gelu_backward);
TG_REGISTER_CUDA_KERNEL("silu", cuda_silu_forward);
TG_REGISTER_CUDA_KERNEL("silu_backward", cuda_silu_backward);
TG_REGISTER_CUDA_KERNEL("sigmoid", cuda_sigmoid_forward);
TG_REGISTER_CUDA_KERNEL("sigmoid_backward", cuda_sigmoid_backward);
TG_REGISTER_CUDA_KERNEL("tanh", cuda_tanh_forward);
TG_REGISTER_CUDA_KERNEL("tanh_backward", cuda_tanh_backward);

}  // namespace tg
