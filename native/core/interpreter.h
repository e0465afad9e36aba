// Runs a graph node by node with a fresh buffer for every value: the simple
// reference executor behind eager ops and their gradients, on the CPU or on a
// CUDA device. (Sessions use the planned executor, which reuses buffers.)
#pragma once
#include <map>
#include <vector>

#include "device.h"
#include "graph.h"

namespace tg {

struct InterpretOptions {
  Device device;  // where every node runs and every value lives
  // CUDA: wait for each node's kernels, so a fault inside one is reported with
  // that node's name. Timed repetitions turn it off to measure the kernels
  // rather than the waits; faults then surface at the caller's next wait.
  bool wait_each_node = true;
};

// `bound` gives a tensor in options.device's memory for every graph input and
// parameter that the fetched values depend on. Returns the fetched values, in
// that memory too. Fails with ERR_TG_DEVICE before running anything when a
// node's op has no kernel for the device.
std::vector<Tensor> interpret(const Graph& g, const std::map<ValueId, Tensor>& bound,
                              const std::vector<ValueId>& fetch, const RunContext& ctx,
                              const InterpretOptions& options = {});

// Throws ERR_TG_DEVICE ("op 'x' has no CUDA kernel yet") for the first node of
// `g` whose op has no kernel for `device`.
void require_kernels(const Graph& g, const Device& device);

// Checks that a tensor matches a value's spec (ERR_TG_SHAPE / ERR_TG_DTYPE naming it).
void check_binding(const Graph& g, ValueId v, const Tensor& t);

}  // namespace tg
