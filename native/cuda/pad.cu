// Padding of the last dim, or the last two, on CUDA, as F.pad with mode
// 'constant' (negative pads crop), 'reflect' or 'replicate': the CUDA side of
// cpu/pad.cc. A thread computes one output from its source. The backward of
// 'constant' is the crop (a pad by the negated pads); that of reflect and
// replicate adds each dy element into its source with atomicAdd.
#include <cuda_runtime.h>

#include <string>

#include "cuda_kernels.cuh"

namespace tg {

namespace {

enum class Mode { constant, reflect, replicate };

// pads as (before, after) along the two innermost dims; with two pads the "H"
// dim is a unit dim folded into the planes. x is viewed as (planes, h, w).
struct Pad {
  Mode mode;
  float value;
  int64_t top, bottom, left, right;
  int64_t planes, h, w;

  // The source of output index o along a dim of size n padded by `before`;
  // -1 (constant mode) where o reads the fill value.
  __device__ __forceinline__ int64_t source(int64_t o, int64_t before, int64_t n) const {
    const int64_t i = o - before;
    if (mode == Mode::constant) return i >= 0 && i < n ? i : -1;
    if (mode == Mode::reflect) return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i);
    return min(max(i, int64_t{0}), n - 1);
  }
};

// x viewed as (planes, h, w), the pads and mode from pad's attributes.
Pad parse_pad(const Attrs& a, const Shape& x) {
  const std::vector<int64_t> pads = a.require_ints("pads");
  const size_t dims = pads.size() / 2;
  const std::string mode = a.get_string("mode", "constant");
  Pad p{};
  p.mode = mode == "reflect" ? Mode::reflect : mode == "replicate" ? Mode::replicate : Mode::constant;
  p.value = static_cast<float>(a.get_float("value", 0.0));
  p.left = pads[0];
  p.right = pads[1];
  p.top = dims == 2 ? pads[2] : 0;
  p.bottom = dims == 2 ? pads[3] : 0;
  const size_t r = x.size();
  p.w = x[r - 1];
  p.h = dims == 2 ? x[r - 2] : 1;
  p.planes = shape_numel(Shape(x.begin(), x.end() - static_cast<long>(dims)));
  return p;
}

// x: (planes, h, w); y: (planes, h + top + bottom, w + left + right)
__global__ void pad_kernel(const float* __restrict__ x, float* __restrict__ y, Pad p) {
  const int64_t oh_n = p.h + p.top + p.bottom, ow_n = p.w + p.left + p.right;
  const int64_t n = p.planes * oh_n * ow_n;
  for (int64_t i = thread_index(); i < n; i += thread_count()) {
    const int64_t ow = i % ow_n, rest = i / ow_n;
    const int64_t oh = rest % oh_n, plane = rest / oh_n;
    const int64_t sh = p.source(oh, p.top, p.h), sw = p.source(ow, p.left, p.w);
    y[i] = sh < 0 || sw < 0 ? p.value : x[(plane * p.h + sh) * p.w + sw];
  }
}

// dy: (planes, OH, OW); dx: (planes, h, w), zeroed; each dy added at its source
__global__ void pad_backward_kernel(const float* __restrict__ dy, float* __restrict__ dx, Pad p) {
  const int64_t oh_n = p.h + p.top + p.bottom, ow_n = p.w + p.left + p.right;
  const int64_t n = p.planes * oh_n * ow_n;
  for (int64_t i = thread_index(); i < n; i += thread_count()) {
    const int64_t ow = i % ow_n, rest = i / ow_n;
    const int64_t oh = rest % oh_n, plane = rest / oh_n;
    atomicAdd(dx + (plane * p.h + p.source(oh, p.top, p.h)) * p.w + p.source(ow, p.left, p.w), dy[i]);
  }
}

void launch_pad(const float* x, float* y, const Pad& p, int64_t n) {
  if (n == 0) return;
  pad_kernel<<<grid_for(n), kBlock>>>(x, y, p);
  check_launch("pad_kernel");
}

// x: (..., H, W); y: (..., H + top + bottom, W + left + right)
void cuda_pad_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                      const RunContext&) {
  launch_pad(in[0].data<float>(), out[0].data<float>(), parse_pad(attrs, in[0].shape()), out[0].numel());
}

// dy: (..., OH, OW); dx: (..., H, W)
void cuda_pad_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                       const RunContext&) {
  const Pad p = parse_pad(attrs, out[0].shape());
  if (p.mode == Mode::constant) {
    // dx is dy cropped back to x: dy padded by the negated pads, zeros where
    // x's elements were cropped away.
    const Pad crop{Mode::constant, 0.0f, -p.top, -p.bottom, -p.left, -p.right, p.planes,
                   p.h + p.top + p.bottom, p.w + p.left + p.right};
    launch_pad(in[0].data<float>(), out[0].data<float>(), crop, out[0].numel());
    return;
  }
  if (out[0].nbytes() > 0) cuda_check(cudaMemsetAsync(out[0].raw(), 0, out[0].nbytes(), 0), "clearing a gradient");
  const int64_t n = in[0].numel();
  if (n == 0) return;
  pad_backward_kernel<<<grid_for(n), kBlock>>>(in[0].data<float>(), out[0].data<float>(), p);
  check_launch("pad_backward_kernel");
}

}  // namespace

TG_REGISTER_CUDA_KERNEL("pad", cuda_pad_forward);
TG_REGISTER_CUDA_KERNEL("pad_backward", cuda_pad_backward);

}  // namespace tg
