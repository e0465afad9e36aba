// Row normalisation on CUDA: layer_norm (F.layer_norm, with mean and rstd as
// outputs like aten::native_layer_norm), its fused backward op, and
// moments_backward, which carries the gradient reaching x through those
// statistics: the CUDA side of the layer_norm part of cpu/norm.cc.
//
// A block owns a row of D elements. Statistics are two passes in f32: the sum
// around the row's first element (so the mean does not lose digits when
// |mean| >> std), then the sum of squared deviations from the mean. dweight
// and dbias are column sums over rows: threads own columns, rows are split
// into parts fixed by the shape, and cuda_reduce_sum adds the parts in order.
#include <cuda_runtime.h>

#include <array>

#include "cuda_kernels.cuh"

namespace tg {

namespace {

// Threads summing dweight / dbias: enough to fill the GPU.
constexpr int64_t kTargetThreads = int64_t{1} << 18;
constexpr int64_t kMaxParts = 1024;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// x, y: (R, D); weight, bias: (D) or nullptr; mean, rstd: (R)
__global__ void layer_norm_kernel(const float* __restrict__ x, const float* __restrict__ weight,
                                  const float* __restrict__ bias, float* __restrict__ y, float* __restrict__ mean,
                                  float* __restrict__ rstd, int64_t rows, int64_t d, float eps) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {  // uniform per block: block_reduce is reached by all
    const float* xr = x + r * d;
    float* yr = y + r * d;
    const float shift = d > 0 ? xr[0] : 0.0f;
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) s += xr[i] - shift;
    const float m = shift + block_reduce(s, SumOp{}, 0.0f) / static_cast<float>(d);
    float q = 0.0f;
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) {
      const float c = xr[i] - m;
      q += c * c;
    }
    // fmaxf turns the 0 / 0 of an empty row into 0, as the CPU kernel does.
    const float var = fmaxf(0.0f, block_reduce(q, SumOp{}, 0.0f) / static_cast<float>(d));
    const float rs = 1.0f / sqrtf(var + eps);
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) {
      float v = (xr[i] - m) * rs;
      if (weight) v *= weight[i];
      if (bias) v += bias[i];
      yr[i] = v;
    }
    if (threadIdx.x == 0) {
      mean[r] = m;
      rstd[r] = rs;
    }
  }
}

// dy, x, dx: (R, D); mean, rstd: (R); weight: (D) or nullptr. With g = dy w:
// dx = rstd g - (x - mean) rstd^3 sum(g (x - mean)) / D - rstd sum(g) / D.
__global__ void layer_norm_dx_kernel(const float* __restrict__ dy, const float* __restrict__ x,
                                     const float* __restrict__ mean, const float* __restrict__ rstd,
                                     const float* __restrict__ weight, float* __restrict__ dx, int64_t rows,
                                     int64_t d) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* dyr = dy + r * d;
    const float* xr = x + r * d;
    const float m = mean[r], rs = rstd[r];
    float a = 0.0f, b = 0.0f;
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) {
      const float g = weight ? dyr[i] * weight[i] : dyr[i];
      a += g;
      b += g * (xr[i] - m);
    }
    a = block_reduce(a, SumOp{}, 0.0f);
    b = block_reduce(b, SumOp{}, 0.0f);
    const float k2 = -rs * rs * rs * b / static_cast<float>(d);
    const float k3 = -rs * a / static_cast<float>(d);
    float* dxr = dx + r * d;
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) {
      const float g = weight ? dyr[i] * weight[i] : dyr[i];
      dxr[i] = g * rs + (xr[i] - m) * k2 + k3;
    }
  }
}

// dy, x: (R, D); mean, rstd: (R) -> pw, pb: (parts, D), each part's sums of
// dy (x - mean) rstd and of dy over its `span` rows.
__global__ void layer_norm_params_kernel(const float* __restrict__ dy, const float* __restrict__ x,
                                         const float* __restrict__ mean, const float* __restrict__ rstd,
                                         int64_t rows, int64_t d, int64_t parts, int64_t span,
                                         float* __restrict__ pw, float* __restrict__ pb) {
  for (int64_t t = thread_index(); t < parts * d; t += thread_count()) {
    const int64_t c = t % d, part = t / d;
    const int64_t r1 = min(rows, (part + 1) * span);
    float sw = 0.0f, sb = 0.0f;
    for (int64_t r = part * span; r < r1; ++r) {
      const float g = dy[r * d + c];
      sw += g * (x[r * d + c] - mean[r]) * rstd[r];
      sb += g;
    }
    pw[t] = sw;
    pb[t] = sb;
  }
}

// x, dx: (R, D); mean, rstd, dmean, drstd: (R).
// dx = dmean / D + (x - mean) (-rstd^3 drstd / D).
template <typename I>
__global__ void moments_backward_kernel(const float* __restrict__ x, const float* __restrict__ mean,
                                        const float* __restrict__ rstd, const float* __restrict__ dmean,
                                        const float* __restrict__ drstd, float* __restrict__ dx, int64_t n,
                                        int64_t d) {
  const float inv_d = 1.0f / static_cast<float>(d);
  for (int64_t i = thread_index(); i < n; i += thread_count()) {
    const int64_t r = static_cast<int64_t>(static_cast<I>(i) / static_cast<I>(d));
    const float rs = rstd[r];
    dx[i] = dmean[r] * inv_d + (x[i] - mean[r]) * (-rs * rs * rs * drstd[r] * inv_d);
  }
}

std::array<bool, 3> output_mask(const Attrs& a) {
  const std::vector<int64_t> m = a.get_ints("output_mask", {1, 1, 1});
  return {m[0] == 1, m[1] == 1, m[2] == 1};
}

// x, y: (R, D), D the product of normalized_shape; weight?, bias?: (D); mean, rstd: (R)
void cuda_layer_norm_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                             const RunContext&) {
  const int64_t rows = out[1].numel();
  if (rows == 0) return;
  const int64_t d = in[0].numel() / rows;
  layer_norm_kernel<<<grid_for(rows, 1), block_for_len(d)>>>(
      in[0].data<float>(), in.size() > 1 ? in[1].data<float>() : nullptr,
      in.size() > 2 ? in[2].data<float>() : nullptr, out[0].data<float>(), out[1].data<float>(),
      out[2].data<float>(), rows, d, static_cast<float>(attrs.get_float("eps", 1e-5)));
  check_launch("layer_norm_kernel");
}

// dy, x, dx: (R, D); mean, rstd: (R); weight?, dweight, dbias: (D); outputs
// left out by output_mask are (0)-shaped.
void cuda_layer_norm_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                              const RunContext&) {
  const std::array<bool, 3> mask = output_mask(attrs);
  const int64_t rows = in[2].numel();
  const int64_t d = shape_numel(attrs.require_ints("normalized_shape"));
  const float* dy = in[0].data<float>();
  const float* x = in[1].data<float>();
  const float* mean = in[2].data<float>();
  const float* rstd = in[3].data<float>();
  if (mask[0] && rows > 0 && d > 0) {
    layer_norm_dx_kernel<<<grid_for(rows, 1), block_for_len(d)>>>(
        dy, x, mean, rstd, in.size() > 4 ? in[4].data<float>() : nullptr, out[0].data<float>(), rows, d);
    check_launch("layer_norm_dx_kernel");
  }
  if (!(mask[1] || mask[2]) || d == 0) return;
  if (rows == 0) {
    if (mask[1]) cuda_fill(out[1].data<float>(), d, 0.0f);
    if (mask[2]) cuda_fill(out[2].data<float>(), d, 0.0f);
    return;
  }
  const int64_t parts = std::max<int64_t>(1, std::min({ceil_div(kTargetThreads, d), ceil_div(rows, 16), kMaxParts}));
  const int64_t span = ceil_div(rows, parts);
  Tensor pw = cuda_scratch({parts, d}, DType::f32), pb = cuda_scratch({parts, d}, DType::f32);
  layer_norm_params_kernel<<<grid_for(parts * d), kBlock>>>(dy, x, mean, rstd, rows, d, parts, span,
                                                            pw.data<float>(), pb.data<float>());
  check_launch("layer_norm_params_kernel");
  if (mask[1]) cuda_reduce_sum(pw.data<float>(), {parts, d}, {true, false}, out[1].data<float>(), 1.0f);
  if (mask[2]) cuda_reduce_sum(pb.data<float>(), {parts, d}, {true, false}, out[2].data<float>(), 1.0f);
}

// x, dx: (R, D) with R the size of mean; mean, rstd, dmean, drstd: (R)
void cuda_moments_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                           const RunContext&) {
  const int64_t rows = in[1].numel(), n = in[0].numel();
  if (rows == 0 || n == 0) return;
  const int64_t d = n / rows;
  const float* args[5] = {in[0].data<float>(), in[1].data<float>(), in[2].data<float>(), in[3].data<float>(),
                          in[4].data<float>()};
  if (fits_32(n)) {
    moments_backward_kernel<uint32_t><<<grid_for(n), kBlock>>>(args[0], args[1], args[2], args[3], args[4],
                                                               out[0].data<float>(), n, d);
  } else {
    moments_backward_kernel<uint64_t><<<grid_for(n), kBlock>>>(args[0], args[1], args[2], args[3], args[4],
                                                               out[0].data<float>(), n, d);
  }
  check_launch("moments_backward_kernel");
}

}  // namespace

TG_REGISTER_CUDA_KERNEL("layer_norm", cuda_layer_norm_forward);
TG_REGISTER_CUDA_KERNEL("layer_norm_backward", cuda_layer_norm_backward);
TG_REGISTER_CUDA_KERNEL("moments_backward", cuda_moments_backward);

}  // namespace tg
