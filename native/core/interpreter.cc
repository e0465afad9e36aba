#include "interpreter.h"

#include "error.h"

namespace tg {

void check_binding(const Graph& g, ValueId v, const Tensor& t) {
  const GraphValue& val = g.values[static_cast<size_t>(v)];
  TG_CHECK(t.dtype() == val.spec.dtype, "ERR_TG_DTYPE", val.name, ": expected ", dtype_name(val.spec.dtype),
           ", got ", dtype_name(t.dtype()));
  TG_CHECK(t.shape() == val.spec.shape, "ERR_TG_SHAPE", val.name, ": expected shape ", shape_str(val.spec.shape),
           ", got ", shape_str(t.shape()));
}

std::vector<Tensor> interpret(const Graph& g, const std::map<ValueId, Tensor>& bound,
                              const std::vector<ValueId>& fetch, const RunContext& ctx) {
  std::vector<Tensor> env(g.values.size());
  for (const auto& kv : bound) {
    check_binding(g, kv.first, kv.second);
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
      outs.push_back(Tensor::empty(s.shape, s.dtype, Device{}));
      env[static_cast<size_t>(v)] = outs.back();
    }
    TG_CHECK(node.op->cpu != nullptr, "ERR_TG_DEVICE", "op '", node.op->name, "' has no CPU kernel");
    node.op->cpu(ins, outs, node.attrs, ctx);
  }
  std::vector<Tensor> out;
  for (ValueId v : fetch) out.push_back(env[static_cast<size_t>(v)]);
  return out;
}

}  // namespace tg
