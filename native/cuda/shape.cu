// Layout ops on CUDA: reshape, flatten and unflatten (device-to-device copies,
// as tensors are always contiguous) and transpose / permute, which gather into
// a fresh contiguous tensor: the CUDA side of cpu/shape.cc and cpu/flatten.cc.
// None of them looks at the values, so they take any dtype.
#include <cuda_runtime.h>

#include "../cpu/kernel_util.h"
#include "cuda_kernels.cuh"

namespace tg {

namespace {

// x, y: the same bytes under another shape
void cuda_copy_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                       const RunContext&) {
  if (in[0].nbytes() == 0) return;
  cuda_check(cudaMemcpyAsync(out[0].raw(), in[0].raw(), in[0].nbytes(), cudaMemcpyDeviceToDevice, 0),
             "copying ", in[0].nbytes(), " bytes on the device");
}

std::vector<int64_t> permutation_from(const Attrs& attrs, int64_t rank) {
  std::vector<int64_t> perm;
  for (int64_t d : attrs.require_ints("dims")) perm.push_back(normalize_axis(d, rank, "attribute 'dims': dim"));
  return perm;
}

std::vector<int64_t> transposition_from(const Attrs& attrs, int64_t rank) {
  const int64_t d0 = normalize_axis(attrs.require_int("dim0"), rank, "attribute 'dim0'");
  const int64_t d1 = normalize_axis(attrs.require_int("dim1"), rank, "attribute 'dim1'");
  std::vector<int64_t> perm(static_cast<size_t>(rank));
  for (int64_t i = 0; i < rank; ++i) perm[static_cast<size_t>(i)] = i;
  std::swap(perm[static_cast<size_t>(d0)], perm[static_cast<size_t>(d1)]);
  return perm;
}

// x: (S); y: (S permuted), output dim d being input dim perm[d]
void permute_copy(const Tensor& x, const Tensor& y, const std::vector<int64_t>& perm) {
  const Shape& in = x.shape();
  std::vector<int64_t> in_stride(in.size());
  int64_t s = 1;
  for (size_t d = in.size(); d-- > 0;) {
    in_stride[d] = s;
    s *= in[d];
  }
  IndexMap<1> m;
  for (size_t d = perm.size(); d-- > 0;) {
    push_dim(m, y.shape()[d], {in_stride[static_cast<size_t>(perm[d])]}, "permute");
  }
  with_element_type(x.dtype(), [&](auto element) {
    using T = decltype(element);
    launch_map_indexed(m, y.numel(), static_cast<T*>(y.raw()), ReadAt<T>{static_cast<const T*>(x.raw())});
  });
}

void cuda_permute_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                          const RunContext&) {
  permute_copy(in[0], out[0], permutation_from(attrs, in[0].dim()));
}

void cuda_transpose_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                            const RunContext&) {
  permute_copy(in[0], out[0], transposition_from(attrs, in[0].dim()));
}

}  // namespace

TG_REGISTER_CUDA_KERNEL("reshape", cuda_copy_forward);
TG_REGISTER_CUDA_KERNEL("flatten", cuda_copy_forward);
TG_REGISTER_CUDA_KERNEL("unflatten", cuda_copy_forward);
TG_REGISTER_CUDA_KERNEL("transpose", cuda_transpose_forward);
TG_REGISTER_CUDA_KERNEL("permute", cuda_permute_forward);

}  // namespace tg
