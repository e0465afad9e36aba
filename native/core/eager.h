// Ops run one at a time on whole tensors: shape checks, moving data to the
// requested device and back, and the choice of backend kernel. The graph
// engine will call the same backend kernels; the binding calls these.
#pragma once
#include <string>
#include <vector>

#include "attrs.h"
#include "device.h"
#include "op.h"
#include "tensor.h"

namespace tg {

struct GemmAttrs {
  bool trans_a = false;
  bool trans_b = false;
  float alpha = 1.0f;
  float beta = 0.0f;
};

// out = alpha * op(a) @ op(b) + beta * c, on host tensors, computed on `device`.
// a: (M, K) or (B, M, K) — (K, M) / (B, K, M) when trans_a
// b: (K, N) or (B, K, N) — (N, K) / (B, N, K) when trans_b
// c: (M, N) or (B, M, N), or undefined (then beta must be 0)
// A rank-2 operand is shared by every batch item. out: (M, N) or (B, M, N).
Tensor eager_gemm(const Tensor& a, const Tensor& b, const Tensor& c, const GemmAttrs& attrs, const Device& device);

// A host copy of x converted to `dtype`, passing through `device` memory.
Tensor eager_cast(const Tensor& x, DType dtype, const Device& device);

// Runs one registered op on host tensors, with the kernels of `device`: on a
// CUDA device the inputs are copied there, the op runs there, and its outputs
// are copied back. Fails with ERR_TG_DEVICE before copying anything when the
// op has no kernel for the device. Returns its outputs (host tensors).
std::vector<Tensor> eager_op(const std::string& op, const std::vector<Tensor>& inputs, const Attrs& attrs,
                             const Device& device, const RunContext& ctx);

struct VjpResult {
  std::vector<Tensor> outputs;         // the forward outputs
  std::vector<Tensor> input_grads;     // undefined where no gradient flows (integer inputs, ...)
  std::vector<std::string> ops_used;   // ops of the backward nodes, for coverage reports
  double ms = 0.0;                     // with repeat > 0: mean time of one forward + backward run
};
// The vector-Jacobian product of one op: runs it, then its backward rule with
// `grad_outputs` as the incoming gradients (undefined: none for that output),
// every node on `device` (as eager_op). With no gradient given, only the
// forward op runs. repeat > 0 also times the whole graph for benchmarks: one
// untimed run, then `repeat` runs on inputs already in device memory, timed
// on the device (CUDA events) or the host clock (CPU).
VjpResult eager_vjp(const std::string& op, const std::vector<Tensor>& inputs, const Attrs& attrs,
                    const std::vector<Tensor>& grad_outputs, const Device& device, const RunContext& ctx,
                    int repeat = 0);

// A copy of a host tensor in `device` memory, and back.
Tensor to_device(const Tensor& x, const Device& device);
Tensor to_host(const Tensor& x);

}  // namespace tg
