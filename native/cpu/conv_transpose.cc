// conv_transpose2d with torch.nn.functional.conv_transpose2d semantics
// (stride, padding, output_padding, dilation, groups; weight (C_in,
// C_out / groups, kH, kW)). It is the adjoint of the conv2d that maps its
// output shape to its input shape (im2col.h), so each of its passes is a
// conv2d kernel with the roles swapped: forward = conv2d's input gradient,
// input gradient = conv2d forward, weight gradient = conv2d's weight gradient
// with x and dy exchanged.
#include "../core/graph.h"
#include "im2col.h"
#include "kernel_util.h"

namespace tg {

namespace {

std::vector<TensorSpec> infer_conv_transpose2d(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  require_float32(in[0], "x");
  require_float32(in[1], "weight");
  const ConvGeom g = conv_transpose2d_geom(in[0].shape, in[1].shape, attrs);
  if (in.size() == 3) {
    require_float32(in[2], "bias");
    TG_CHECK(in[2].shape == Shape{g.c}, "ERR_TG_SHAPE", "bias must have shape (", g.c, ",), got ",
             shape_str(in[2].shape));
  }
  return {TensorSpec{Shape{g.n, g.c, g.h, g.w}, DType::f32}};
}

// x: (N, C_in, H, W); weight: (C_in, C_out / groups, kH, kW); bias: (C_out); y: (N, C_out, Ho, Wo)
void cpu_conv_transpose2d_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
                                  const Attrs& attrs, const RunContext&) {
  const ConvGeom g = conv_transpose2d_geom(in[0].shape(), in[1].shape(), attrs);
  conv_backward_input(g, in[0].data<float>(), in[1].data<float>(), in.size() == 3 ? in[2].data<float>() : nullptr,
                      out[0].data<float>());
}

std::vector<ValueId> grad_conv_transpose2d(GraphBuilder& g, const GradContext& c) {
  const ValueId x = c.inputs[0], w = c.inputs[1], dy = c.grad_outputs[0];
  std::vector<ValueId> grads(c.inputs.size(), kNoValue);
  if (c.needs_grad[0]) {
    Attrs a = c.attrs;
    a.set("input_shape", std::vector<int64_t>(g.spec(x).shape));
    grads[0] = g.add1("conv_transpose2d_backward_input", {dy, w}, a);
  }
  if (c.needs_grad[1]) {
    Attrs a = c.attrs;
    a.set("weight_shape", std::vector<int64_t>(g.spec(w).shape));
    grads[1] = g.add1("conv_transpose2d_backward_weight", {dy, x}, a);
  }
  if (c.inputs.size() == 3 && c.needs_grad[2]) grads[2] = conv_bias_grad(g, dy);
  return grads;
}

void check_dy(const TensorSpec& dy, const ConvGeom& g) {
  require_float32(dy, "dy");
  const Shape expected{g.n, g.c, g.h, g.w};
  TG_CHECK(dy.shape == expected, "ERR_TG_SHAPE", "dy must have the transposed conv output's shape ",
           shape_str(expected), ", got ", shape_str(dy.shape));
}

// conv_transpose2d_backward_input(dy, weight){..., input_shape} -> dx (input_shape)
std::vector<TensorSpec> infer_conv_transpose2d_backward_input(const std::vector<TensorSpec>& in,
                                                              const Attrs& attrs) {
  require_float32(in[1], "weight");
  const Shape xs = conv_shape_attr(attrs, "input_shape");
  check_dy(in[0], conv_transpose2d_geom(xs, in[1].shape, attrs));
  return {TensorSpec{xs, DType::f32}};
}

// dy: (N, C_out, Ho, Wo); weight: (C_in, C_out / groups, kH, kW); dx: (N, C_in, H, W)
void cpu_conv_transpose2d_backward_input(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
                                         const Attrs& attrs, const RunContext&) {
  const ConvGeom g = conv_transpose2d_geom(out[0].shape(), in[1].shape(), attrs);
  conv_forward(g, in[0].data<float>(), in[1].data<float>(), nullptr, out[0].data<float>());
}

// conv_transpose2d_backward_weight(dy, x){..., weight_shape} -> dW (weight_shape)
std::vector<TensorSpec> infer_conv_transpose2d_backward_weight(const std::vector<TensorSpec>& in,
                                                               const Attrs& attrs) {
  require_float32(in[1], "x");
  const Shape ws = conv_shape_attr(attrs, "weight_shape");
  check_dy(in[0], conv_transpose2d_geom(in[1].shape, ws, attrs));
  return {TensorSpec{ws, DType::f32}};
}

// dy: (N, C_out, Ho, Wo); x: (N, C_in, H, W); dw: (C_in, C_out / groups, kH, kW)
void cpu_conv_transpose2d_backward_weight(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
                                          const Attrs& attrs, const RunContext&) {
  const ConvGeom g = conv_transpose2d_geom(in[1].shape(), out[0].shape(), attrs);
  // In the conv2d view x is the output gradient and dy the input.
  conv_backward_weight(g, in[1].data<float>(), in[0].data<float>(), out[0].data<float>());
}

}  // namespace

TG_REGISTER_OP({"conv_transpose2d", {"x", "weight", "bias?"}, 1, infer_conv_transpose2d,
                cpu_conv_transpose2d_forward, grad_conv_transpose2d,
                "2-d transposed convolution: x (N, C_in, H, W), weight (C_in, C_out / groups, kH, kW), bias (C_out) "
                "-> (N, C_out, (H - 1) s - 2 p + d (k - 1) + output_padding + 1, ...); stride, padding, "
                "output_padding, dilation, groups"});
TG_REGISTER_OP({"conv_transpose2d_backward_input", {"dy", "weight"}, 1, infer_conv_transpose2d_backward_input,
                cpu_conv_transpose2d_backward_input, nullptr,
                "conv_transpose2d's input gradient (a conv2d of dy): dy (N, C_out, Ho, Wo), weight -> dx "
                "(input_shape); conv_transpose2d's attributes"});
TG_REGISTER_OP({"conv_transpose2d_backward_weight", {"dy", "x"}, 1, infer_conv_transpose2d_backward_weight,
                cpu_conv_transpose2d_backward_weight, nullptr,
                "conv_transpose2d's weight gradient: dy (N, C_out, Ho, Wo), x (N, C_in, H, W) -> dW "
                "(weight_shape); conv_transpose2d's attributes"});

}  // namespace tg
