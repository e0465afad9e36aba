#include "autodiff.h"

#include <map>

#include "error.h"

namespace tg {

bool is_floating(DType t) { return t == DType::f32 || t == DType::f16 || t == DType::bf16; }

std::vector<ValueId> build_backward(GraphBuilder& b, const std::vector<ValueId>& outputs,
                                    const std::vector<ValueId>& seeds, const std::vector<ValueId>& wrt) {
  Graph& g = b.graph();
  TG_CHECK(outputs.size() == seeds.size(), "ERR_TG_INTERNAL", "autodiff: ", outputs.size(), " outputs but ",
           seeds.size(), " seeds");
  const size_t n_values = g.values.size();
  const size_t n_forward = g.nodes.size();

  // depends[v]: v is computed (differentiably) from something in `wrt`.
  std::vector<bool> depends(n_values, false);
  for (ValueId v : wrt) depends[static_cast<size_t>(v)] = true;
  for (size_t i = 0; i < n_forward; ++i) {
    const GraphNode& node = g.nodes[i];
    if (node.op->grad == nullptr) continue;
    bool any = false;
    for (ValueId in : node.inputs) any = any || depends[static_cast<size_t>(in)];
    if (!any) continue;
    for (ValueId out : node.outputs) depends[static_cast<size_t>(out)] = is_floating(g.values[out].spec.dtype);
  }
  // reaches[v]: v contributes to one of `outputs`.
  std::vector<bool> reaches(n_values, false);
  for (ValueId v : outputs) reaches[static_cast<size_t>(v)] = true;
  for (size_t i = n_forward; i-- > 0;) {
    const GraphNode& node = g.nodes[i];
    bool any = false;
    for (ValueId out : node.outputs) any = any || reaches[static_cast<size_t>(out)];
    if (!any) continue;
    for (ValueId in : node.inputs) reaches[static_cast<size_t>(in)] = true;
  }

  std::map<ValueId, ValueId> grads;
  auto accumulate = [&](ValueId v, ValueId gv) {
    auto it = grads.find(v);
    if (it == grads.end()) {
      grads[v] = gv;
    } else {
      it->second = b.add1("add", {it->second, gv}, Attrs(), "grad_acc_" + g.values[v].name);
    }
  };

  b.in_backward = true;
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (depends[static_cast<size_t>(outputs[i])]) accumulate(outputs[i], seeds[i]);
  }
  for (size_t i = n_forward; i-- > 0;) {
    // Copy what we need: emitting nodes may reallocate g.nodes.
    const GraphNode node = g.nodes[i];
    std::vector<ValueId> grad_out;
    bool any_grad = false;
    for (ValueId out : node.outputs) {
      auto it = grads.find(out);
      grad_out.push_back(it == grads.end() ? kNoValue : it->second);
      any_grad = any_grad || it != grads.end();
    }
    if (!any_grad || node.op->grad == nullptr) continue;
    std::vector<bool> needs(node.inputs.size());
    bool any_need = false;
    for (size_t j = 0; j < node.inputs.size(); ++j) {
      const size_t in = static_cast<size_t>(node.inputs[j]);
      needs[j] = depends[in] && reaches[in];
      any_need = any_need || needs[j];
    }
    if (!any_need) continue;
    GradContext ctx{node.inputs, node.outputs, grad_out, needs, node.attrs};
    b.backward_of = node.name;
    std::vector<ValueId> grad_in = node.op->grad(b, ctx);
    b.backward_of.clear();
    TG_CHECK(grad_in.size() == node.inputs.size(), "ERR_TG_INTERNAL", "backward rule of '", node.op->name,
             "' returned ", grad_in.size(), " gradients for ", node.inputs.size(), " inputs");
    for (size_t j = 0; j < grad_in.size(); ++j) {
      if (needs[j] && grad_in[j] != kNoValue) accumulate(node.inputs[j], grad_in[j]);
    }
  }
  b.in_backward = false;

  std::vector<ValueId> result;
  for (ValueId v : wrt) {
    auto it = grads.find(v);
    result.push_back(it == grads.end() ? kNoValue : it->second);
  }
  return result;
}

}  // namespace tg
