// matmul (torch.matmul batch broadcasting), linear (F.linear) and
// linear_backward_weight on CUDA, all through cuda_sgemm (gemm.cu): the CUDA
// side of cpu/matmul.cc, planned the same way. The longest run of trailing
// batch dims along which each operand is either fully present or fully
// broadcast becomes one strided-batched GEMM; the batch dims before it are
// looped over on the host.
#include <cuda_runtime.h>

#include "../core/gemm_args.h"
#include "cuda_backend.h"
#include "cuda_kernels.cuh"

namespace tg {

namespace {

int current_device() {
  int device = 0;
  cuda_check(cudaGetDevice(&device), "cudaGetDevice");
  return device;
}

// Batch strides (in elements) of an operand of `shape` along each output batch
// dim: 0 where it is broadcast.
std::vector<int64_t> batch_strides(const Shape& shape, const Shape& batch) {
  const size_t own = shape.size() - 2;
  std::vector<int64_t> strides(batch.size(), 0);
  int64_t s = shape[own] * shape[own + 1];
  for (size_t i = batch.size(), j = own; j-- > 0;) {
    --i;
    if (shape[j] != 1) strides[i] = s;
    s *= shape[j];
  }
  return strides;
}

// a: (..., M, K) or (..., K, M) with transA; b: (..., K, N) or (..., N, K) with
// transB; c: (batch..., M, N), batch the broadcast of a's and b's batch dims.
void cuda_matmul_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                         const RunContext&) {
  const Tensor &a = in[0], &b = in[1], &c = out[0];
  if (c.numel() == 0) return;
  const bool ta = attrs.get_bool("transA", false), tb = attrs.get_bool("transB", false);
  const Shape& sa_shape = a.shape();
  const Shape& sb_shape = b.shape();
  const int64_t m = c.size(-2), n = c.size(-1);
  const int64_t k = ta ? a.size(-2) : a.size(-1);
  const Shape batch(c.shape().begin(), c.shape().end() - 2);
  const std::vector<int64_t> sa_all = batch_strides(sa_shape, batch);
  const std::vector<int64_t> sb_all = batch_strides(sb_shape, batch);

  std::vector<int64_t> size, sa, sb;  // batch dims of size > 1 with the operands' strides
  for (size_t i = 0; i < batch.size(); ++i) {
    if (batch[i] == 1) continue;
    size.push_back(batch[i]);
    sa.push_back(sa_all[i]);
    sb.push_back(sb_all[i]);
  }
  size_t split = size.size();
  int64_t inner = 1;
  while (split > 0 && (sa[split - 1] == 0) == (sa.back() == 0) && (sb[split - 1] == 0) == (sb.back() == 0)) {
    --split;
    inner *= size[split];
  }

  GemmArgs g;
  g.trans_a = ta;
  g.trans_b = tb;
  g.m = m;
  g.n = n;
  g.k = k;
  g.lda = std::max<int64_t>(1, a.size(-1));
  g.ldb = std::max<int64_t>(1, b.size(-1));
  g.ldc = std::max<int64_t>(1, n);
  g.batch = inner;
  g.stride_a = size.empty() || sa.back() == 0 ? 0 : m * k;
  g.stride_b = size.empty() || sb.back() == 0 ? 0 : k * n;
  g.stride_c = m * n;
  int64_t outer = 1;
  for (size_t i = 0; i < split; ++i) outer *= size[i];
  const int device = current_device();
  std::vector<int64_t> idx(split, 0);
  for (int64_t o = 0; o < outer; ++o) {
    int64_t off_a = 0, off_b = 0;
    for (size_t i = 0; i < split; ++i) {
      off_a += idx[i] * sa[i];
      off_b += idx[i] * sb[i];
    }
    g.a = a.data<float>() + off_a;
    g.b = b.data<float>() + off_b;
    g.c = c.data<float>() + o * inner * m * n;
    cuda_sgemm(device, g);
    for (size_t i = split; i-- > 0;) {
      if (++idx[i] < size[i]) break;
      idx[i] = 0;
    }
  }
}

// bias: (out) -> y: (rows, out), every row a copy of the bias.
__global__ void bias_rows_kernel(const float* __restrict__ bias, float* __restrict__ y, int64_t n, int64_t width) {
  for (int64_t i = thread_index(); i < n; i += thread_count()) y[i] = bias[i % width];
}

// x: (R, in) flattened; weight: (out, in); bias: (out)?; y: (R, out)
void cuda_linear_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                         const RunContext&) {
  const Tensor &x = in[0], &w = in[1], &y = out[0];
  const int64_t features_out = w.size(0), features_in = w.size(1);
  if (y.numel() == 0) return;
  GemmArgs g;
  g.trans_b = true;
  g.m = y.numel() / features_out;
  g.n = features_out;
  g.k = features_in;
  g.a = x.data<float>();
  g.lda = std::max<int64_t>(1, features_in);
  g.b = w.data<float>();
  g.ldb = std::max<int64_t>(1, features_in);
  g.c = y.data<float>();
  g.ldc = features_out;
  if (in.size() == 3) {
    // Start C at the bias and accumulate the product onto it (beta = 1).
    bias_rows_kernel<<<grid_for(y.numel()), kBlock>>>(in[2].data<float>(), y.data<float>(), y.numel(),
                                                      features_out);
    check_launch("bias_rows_kernel");
    g.beta = 1.0f;
  }
  cuda_sgemm(current_device(), g);
}

// dy: (R, out) flattened; x: (R, in); dw: (out, in) = dy^T x
void cuda_linear_backward_weight(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                                 const RunContext&) {
  const Tensor &dy = in[0], &x = in[1], &dw = out[0];
  const int64_t features_out = dw.size(0), features_in = dw.size(1);
  if (dw.numel() == 0) return;
  GemmArgs g;
  g.trans_a = true;
  g.m = features_out;
  g.n = features_in;
  g.k = dy.numel() / features_out;
  g.a = dy.data<float>();
  g.lda = features_out;
  g.b = x.data<float>();
  g.ldb = features_in;
  g.c = dw.data<float>();
  g.ldc = features_in;
  cuda_sgemm(current_device(), g);
}

}  // namespace

TG_REGISTER_CUDA_KERNEL("matmul", cuda_matmul_forward);
TG_REGISTER_CUDA_KERNEL("linear", cuda_linear_forward);
TG_REGISTER_CUDA_KERNEL("linear_backward_weight", cuda_linear_backward_weight);

}  // namespace tg
