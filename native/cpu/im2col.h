// Convolution geometry and the im2col-style kernels shared by conv.cc
// (conv2d) and conv_transpose.cc (conv_transpose2d, which is the adjoint of a
// conv2d, so its forward pass is a conv2d input gradient and vice versa).
#pragma once
#include <cstdint>

#include "../core/attrs.h"
#include "../core/op.h"
#include "../core/tensor.h"

namespace tg {

class GraphBuilder;

// One convolution seen as conv2d: input x (N, C, H, W), weight
// (O, C / groups, kH, kW), output (N, O, Ho, Wo); output (oy, ox) reads input
// (oy * sh - pt + ky * dh, ox * sw - pl + kx * dw) for each kernel tap
// (ky, kx), and taps outside the input read zero. Ho and Wo are stored rather
// than derived: a transposed conv fixes them (output_padding makes the
// formula ambiguous).
struct ConvGeom {
  int64_t n, c, h, w;
  int64_t o, kh, kw;
  int64_t groups;
  int64_t sh, sw, pt, pl, dh, dw;
  int64_t ho, wo;
  int64_t cg() const { return c / groups; }          // input channels per group
  int64_t og() const { return o / groups; }          // output channels per group
  int64_t k() const { return cg() * kh * kw; }       // rows of one group's column matrix
};

// conv2d(x, weight){stride, padding, dilation, groups}: x (N, C, H, W),
// weight (O, C / groups, kH, kW). Throws ERR_TG_SHAPE / ERR_TG_ARG.
ConvGeom conv2d_geom(const Shape& x, const Shape& weight, const Attrs& attrs);
// conv_transpose2d(x, weight){stride, padding, output_padding, dilation,
// groups}: x (N, C_in, H, W), weight (C_in, C_out / groups, kH, kW). The
// conv2d view has input (N, C_out, Ho, Wo) (the transposed conv's output),
// weight as given (O = C_in) and output (N, C_in, H, W).
ConvGeom conv_transpose2d_geom(const Shape& x, const Shape& weight, const Attrs& attrs);

// The attribute `name` as a 4-d shape (input_shape / weight_shape of the backward ops).
Shape conv_shape_attr(const Attrs& attrs, const char* name);
// The bias gradient of either conv: dy summed over N, H, W.
ValueId conv_bias_grad(GraphBuilder& g, ValueId dy);

// y = conv(x, weight) + bias: x (N, C, H, W); weight (O, C / groups, kH, kW);
// bias (O) or null; y (N, O, Ho, Wo).
void conv_forward(const ConvGeom& g, const float* x, const float* weight, const float* bias, float* y);
// dx = conv^T(dy) + bias: dy (N, O, Ho, Wo); weight (O, C / groups, kH, kW);
// bias (C) or null; dx (N, C, H, W).
void conv_backward_input(const ConvGeom& g, const float* dy, const float* weight, const float* bias, float* dx);
// dw = sum over images of dy[n] cols(x[n])^T: dy (N, O, Ho, Wo); x (N, C, H, W);
// dw (O, C / groups, kH, kW).
void conv_backward_weight(const ConvGeom& g, const float* dy, const float* x, float* dw);

}  // namespace tg
