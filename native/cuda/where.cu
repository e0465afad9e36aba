// Selection by a boolean mask on CUDA, as torch.where(cond, a, b) and
// Tensor.masked_fill(mask, value), with NumPy broadcasting, and where_backward,
// the gradient of both: the CUDA side of cpu/where.cc. Masks are bool or u8,
// any nonzero byte meaning true.
#include <cuda_runtime.h>

#include <string>

#include "cuda_kernels.cuh"

namespace tg {

namespace {

struct Where {
  const uint8_t* cond;
  const float* a;
  const float* b;
  __device__ __forceinline__ float operator()(const int64_t (&off)[3]) const {
    return cond[off[0]] ? a[off[1]] : b[off[2]];
  }
};

// Keeps x where the mask is `keep_when`, else writes `fill`.
struct MaskSelect {
  const float* x;
  const uint8_t* mask;
  bool keep_when;
  float fill;
  __device__ __forceinline__ float operator()(const int64_t (&off)[2]) const {
    return (mask[off[1]] != 0) == keep_when ? x[off[0]] : fill;
  }
};

// cond, a, b: broadcastable to y's shape S; y: (S)
void cuda_where_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                        const RunContext&) {
  const Tensor& y = out[0];
  const IndexMap<3> m = broadcast_map<3>(y.shape(), {&in[0].shape(), &in[1].shape(), &in[2].shape()}, "where");
  launch_map_indexed(m, y.numel(), y.data<float>(),
                     Where{static_cast<const uint8_t*>(in[0].raw()), in[1].data<float>(), in[2].data<float>()});
}

// x, y: (S); mask broadcastable to S
void select_with_mask(const Tensor& x, const Tensor& mask, const Tensor& y, bool keep_when, float fill,
                      const char* op) {
  const IndexMap<2> m = broadcast_map<2>(y.shape(), {&x.shape(), &mask.shape()}, op);
  launch_map_indexed(m, y.numel(), y.data<float>(),
                     MaskSelect{x.data<float>(), static_cast<const uint8_t*>(mask.raw()), keep_when, fill});
}

// dy, dx: (S); cond broadcastable to S. select 'a': dy where cond; 'b': dy where !cond.
void cuda_where_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                         const RunContext&) {
  const bool selects_a = attrs.get_string("select", "") == "a";
  select_with_mask(in[0], in[1], out[0], selects_a, 0.0f, "where_backward");
}

// x, y: (S); mask broadcastable to S
void cuda_masked_fill_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                              const RunContext&) {
  select_with_mask(in[0], in[1], out[0], false, static_cast<float>(attrs.get_float("value", 0.0)), "masked_fill");
}

}  // namespace

TG_REGISTER_CUDA_KERNEL("where", cuda_where_forward);
TG_REGISTER_CUDA_KERNEL("where_backward", cuda_where_backward);
TG_REGISTER_CUDA_KERNEL("masked_fill", cuda_masked_fill_forward);

}  // namespace tg
