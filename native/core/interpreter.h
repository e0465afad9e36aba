// Runs a graph node by node with a fresh buffer for every value: the simple
// reference executor behind eager ops and their gradients. (Sessions use the
// planned executor, which reuses buffers.)
#pragma once
#include <map>
#include <vector>

#include "graph.h"

namespace tg {

// `bound` gives a host tensor for every graph input and parameter that the
// fetched values depend on. Returns the fetched values.
std::vector<Tensor> interpret(const Graph& g, const std::map<ValueId, Tensor>& bound,
                              const std::vector<ValueId>& fetch, const RunContext& ctx);

// Checks that a tensor matches a value's spec (ERR_TG_SHAPE / ERR_TG_DTYPE naming it).
void check_binding(const Graph& g, ValueId v, const Tensor& t);

}  // namespace tg
