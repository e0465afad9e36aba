#include "interpreter.h"

#include "device_kernels.h"
#include "error.h"
#ifdef TG_WITH_CUDA
#include "../cuda/cuda_backend.h"
#endif

namespace tg {

namespace {

void run_node(const GraphNode& node, const std::vector<Tensor>& ins, const std::vector<Tensor>& outs,
              const RunContext& ctx, const InterpretOptions& options) {
  if (options.device.type == DeviceType::cpu) {
    node.op->cpu(ins, outs, node.attrs, ctx);
    return;
  }
#ifdef TG_WITH_CUDA
  const CudaFn fn = find_cuda_kernel(node.op->name);
  cuda_launch(
      options.device.index, "node '" + node.name + "' (" + node.op->name + ")",
      [&] { fn(ins, outs, node.attrs, ctx); }, options.wait_each_node);
#else
  fail("ERR_TG_DEVICE", "node '", node.name, "': ", options.device.str(),
       " is not available in a build without CUDA");
#endif
}

}  // namespace

void check_binding(const Graph& g, ValueId v, const Tensor& t) {
  const GraphValue& val = g.values[static_cast<size_t>(v)];
  TG_CHECK(t.dtype() == val.spec.dtype, "ERR_TG_DTYPE", val.name, ": expected ", dtype_name(val.spec.dtype),
           ", got ", dtype_name(t.dtype()));
  TG_CHECK(t.shape() == val.spec.shape, "ERR_TG_SHAPE", val.name, ": expected shape ", shape_str(val.spec.shape),
           ", got ", shape_str(t.shape()));
}

void require_kernels(const Graph& g, const Device& device) {
  for (const GraphNode& node : g.nodes) {
    if (device.type == DeviceType::cpu) {
      TG_CHECK(node.op->cpu != nullptr, "ERR_TG_DEVICE", "op '", node.op->name, "' has no CPU kernel");
    } else {
      TG_CHECK(find_cuda_kernel(node.op->name) != nullptr, "ERR_TG_DEVICE", "op '", node.op->name,
               "' has no CUDA kernel yet; use device 'cpu'");
    }
  }
}

std::vector<Tensor> interpret(const Graph& g, const std::map<ValueId, Tensor>& bound,
                              const std::vector<ValueId>& fetch, const RunContext& ctx,
                              const InterpretOptions& options) {
  require_kernels(g, options.device);
  std::vector<Tensor> env(g.values.size());
  for (const auto& kv : bound) {
    check_binding(g, kv.first, kv.second);
    TG_CHECK(kv.second.device() == options.device, "ERR_TG_INTERNAL", g.values[kv.first].name, " is in ",
             kv.second.device().str(), " memory but the graph runs on ", options.device.str());
    env[static_cast<size_t>(kv.first)] = kv.second;
  }
  for (const GraphNode& node : g.nodes) {
    std::vector<Tensor> ins, outs;
    for (ValueId v : node.inputs) {
      const Tensor& t = env[static_cast<size_t>(v)];
      TG_CHECK(t.defined(), "ERR_TG_ARG", "node '", node.name, "' needs ", g.values[v].name, ", which was not fed");
      ins.push_back(t);
    }
    for (ValueId v : node.outputs) {
      const TensorSpec& s = g.values[static_cast<size_t>(v)].spec;
      outs.push_back(Tensor::empty(s.shape, s.dtype, options.device));
      env[static_cast<size_t>(v)] = outs.back();
    }
    run_node(node, ins, outs, ctx, options);
  }
  std::vector<Tensor> out;
  for (ValueId v : fetch) out.push_back(env[static_cast<size_t>(v)]);
  return out;
}

}  // namespace tg
