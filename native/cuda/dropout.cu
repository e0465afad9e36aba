// Inverted dropout on CUDA: y = x * mask, mask = 0 with probability p, else
// 1 / (1 - p). The keep decision for element i is the CPU's (cpu/dropout.cc)
// to the bit: the i-th draw of a SplitMix64 stream keyed by (seed, step), its
// top 53 bits compared with p * 2^53. A CUDA run therefore drops exactly the
// elements a CPU run drops, and the two backends can be checked against each
// other and mixed within a training run.
#include <cuda_runtime.h>

#include <cmath>

#include "cuda_kernels.cuh"

namespace tg {

namespace {

constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ull;

// SplitMix64's output function, as on the CPU.
__host__ __device__ __forceinline__ uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// x, y, mask: (n)
__global__ void dropout_kernel(const float* __restrict__ x, float* __restrict__ y, float* __restrict__ mask,
                               int64_t n, uint64_t stream, uint64_t threshold, float scale) {
  for (int64_t i = thread_index(); i < n; i += thread_count()) {
    const uint64_t draw = mix64(stream + kGolden * (static_cast<uint64_t>(i) + 1)) >> 11;
    const float m = draw >= threshold ? scale : 0.0f;
    mask[i] = m;
    y[i] = x[i] * m;
  }
}

// x, y, mask: (n); the identity with a mask of ones.
__global__ void identity_kernel(const float* __restrict__ x, float* __restrict__ y, float* __restrict__ mask,
                                int64_t n) {
  for (int64_t i = thread_index(); i < n; i += thread_count()) {
    y[i] = x[i];
    mask[i] = 1.0f;
  }
}

// dy, mask, dx: (n)
__global__ void dropout_backward_kernel(const float* __restrict__ dy, const float* __restrict__ mask,
                                        float* __restrict__ dx, int64_t n) {
  for (int64_t i = thread_index(); i < n; i += thread_count()) dx[i] = dy[i] * mask[i];
}

// x, y, mask: same shape
void cuda_dropout_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                          const RunContext& ctx) {
  const int64_t n = in[0].numel();
  if (n == 0) return;
  const double p = attrs.get_float("p", 0.0);
  if (!ctx.training || p == 0.0) {
    identity_kernel<<<grid_for(n), kBlock>>>(in[0].data<float>(), out[0].data<float>(), out[1].data<float>(), n);
    check_launch("identity_kernel");
    return;
  }
  const uint64_t seed = static_cast<uint64_t>(attrs.get_int("seed", 0));
  const uint64_t stream = mix64(seed ^ mix64(ctx.step + kGolden));
  const uint64_t threshold = static_cast<uint64_t>(std::ldexp(p, 53));
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  dropout_kernel<<<grid_for(n), kBlock>>>(in[0].data<float>(), out[0].data<float>(), out[1].data<float>(), n, stream,
                                          threshold, scale);
  check_launch("dropout_kernel");
}

// dy, mask, dx: same shape
void cuda_dropout_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                           const RunContext&) {
  const int64_t n = in[0].numel();
  if (n == 0) return;
  dropout_backward_kernel<<<grid_for(n), kBlock>>>(in[0].data<float>(), in[1].data<float>(), out[0].data<float>(), n);
  check_launch("dropout_backward_kernel");
}

}  // namespace

TG_REGISTER_CUDA_KERNEL("dropout", cuda_dropout_forward);
TG_REGISTER_CUDA_KERNEL("dropout_backward", cuda_dropout_backward);

}  // namespace tg
