// Winograd F(4x4, 3x3) convolution for the 3x3, stride-1 convs of conv2d's
// forward pass and input gradient (see conv_winograd.cc for the reference
// followed, the accuracy and the rule that decides when it is used).
#pragma once

#include "im2col.h"

namespace tg {

// Whether conv_forward / conv_backward_input should take the Winograd path
// for g: the geometry qualifies (3x3 kernel, stride 1, dilation 1, groups 1)
// and it is faster there, or TG_CONV_WINOGRAD forces the choice.
bool use_winograd_forward(const ConvGeom& g);
bool use_winograd_backward_input(const ConvGeom& g);

// conv_forward's contract: x (N, C, H, W); weight (O, C, 3, 3); bias (O) or
// null; y (N, O, Ho, Wo).
void conv_forward_winograd(const ConvGeom& g, const float* x, const float* weight, const float* bias, float* y);
// conv_backward_input's contract: dy (N, O, Ho, Wo); weight (O, C, 3, 3);
// bias (C) or null; dx (N, C, H, W).
void conv_backward_input_winograd(const ConvGeom& g, const float* dy, const float* weight, const float* bias,
                                  float* dx);

}  // namespace tg
