// Kernels of registered ops for devices other than the CPU. Every op has its
// CPU kernel in the op registry (op.h); a backend registers its own kernels
// here by op name, from its own sources (native/cuda/<family>.cu), so a build
// without that backend simply has none and the registry stays independent of
// any device runtime.
#pragma once
#include <string>
#include <vector>

#include "attrs.h"
#include "op.h"
#include "tensor.h"

namespace tg {

// The CUDA kernel of an op: same contract as CpuFn, except that inputs and
// outputs live in the memory of one CUDA device, which is current when it is
// called. It queues its work on that device's default stream and may return
// before the work completes; the caller checks the launches and synchronizes.
// It may read small values back (index validation), which synchronizes.
using CudaFn = void (*)(const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs, const Attrs& attrs,
                        const RunContext& ctx);

// Throws ERR_TG_INTERNAL when `op` already has a CUDA kernel.
void register_cuda_kernel(const char* op, CudaFn fn);
// nullptr when the op has no CUDA kernel (or the build has no CUDA backend).
CudaFn find_cuda_kernel(const std::string& op);
// Names under which CUDA kernels were registered that no registered op has:
// a misspelt registration, reported by listOps instead of silently unused.
std::vector<std::string> cuda_kernels_without_op();

struct CudaKernelRegistrar {
  CudaKernelRegistrar(const char* op, CudaFn fn) { register_cuda_kernel(op, fn); }
};

}  // namespace tg

// TG_REGISTER_CUDA_KERNEL("relu", cuda_relu_forward);
#define TG_REGISTER_CUDA_KERNEL(op, fn) \
  static const ::tg::CudaKernelRegistrar TG_OP_CONCAT(tg_cuda_kernel_registrar_, __LINE__)(op, fn)
