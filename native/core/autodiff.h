// Reverse-mode differentiation on the graph. Backward nodes are created only
// for the part of the graph that lies between the values we differentiate
// with respect to (trainable parameters) and the outputs being differentiated
// (the loss): nothing upstream of the earliest trainable parameter gets a
// backward node, so its activations need not be kept.
#pragma once
#include <vector>

#include "graph.h"

namespace tg {

// Appends backward nodes to the builder's graph. `outputs[i]` receives the
// incoming gradient `seeds[i]` (a value of the same shape). Returns, for each
// value in `wrt`, the value holding d(sum of outputs * seeds)/d(wrt), or
// kNoValue when no path connects them.
std::vector<ValueId> build_backward(GraphBuilder& b, const std::vector<ValueId>& outputs,
                                    const std::vector<ValueId>& seeds, const std::vector<ValueId>& wrt);

bool is_floating(DType t);

}  // namespace tg
