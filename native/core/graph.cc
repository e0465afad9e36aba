#include "graph.h"

#include "error.h"

namespace tg {

ValueId GraphBuilder::input(const std::string& name, const TensorSpec& spec) {
  g_.values.push_back(GraphValue{ValueKind::input, name, spec, -1});
  return static_cast<ValueId>(g_.values.size() - 1);
}

ValueId GraphBuilder::param(const std::string& name, const TensorSpec& spec) {
  g_.values.push_back(GraphValue{ValueKind::param, name, spec, -1});
  return static_cast<ValueId>(g_.values.size() - 1);
}

const TensorSpec& GraphBuilder::spec(ValueId v) const {
  TG_CHECK(v >= 0 && static_cast<size_t>(v) < g_.values.size(), "ERR_TG_INTERNAL", "value ", v, " does not exist");
  return g_.values[static_cast<size_t>(v)].spec;
}

std::string describe_value(const Graph& g, ValueId v) {
  const GraphValue& val = g.values[static_cast<size_t>(v)];
  return val.name + " " + shape_str(val.spec.shape) + " " + dtype_name(val.spec.dtype);
}

std::vector<ValueId> GraphBuilder::add(const std::string& op_name, const std::vector<ValueId>& inputs, Attrs attrs,
                                       const std::string& name) {
  const OpDef& op = find_op(op_name);
  const int node_index = static_cast<int>(g_.nodes.size());
  std::string node_name = name;
  if (node_name.empty()) {
    node_name = (in_backward && !backward_of.empty() ? backward_of + ".grad." : std::string()) + op_name + "_" +
                std::to_string(node_index);
  }
  attrs.set_op(op_name);

  size_t required = 0;
  for (const char* in : op.inputs) {
    const std::string s(in);
    if (s.empty() || s.back() != '?') ++required;
  }
  TG_CHECK(inputs.size() >= required && inputs.size() <= op.inputs.size(), "ERR_TG_ARG", "node '", node_name, "' (",
           op_name, "): expected ", required == op.inputs.size() ? "" : "between ", required,
           required == op.inputs.size() ? "" : " and " + std::to_string(op.inputs.size()), " inputs, got ",
           inputs.size());

  std::vector<TensorSpec> in_specs;
  for (ValueId v : inputs) in_specs.push_back(spec(v));
  std::vector<TensorSpec> out_specs;
  try {
    out_specs = op.infer(in_specs, attrs);
  } catch (const Error& e) {
    std::string shapes;
    for (size_t i = 0; i < inputs.size(); ++i) {
      std::string in_name(op.inputs[i]);
      if (!in_name.empty() && in_name.back() == '?') in_name.pop_back();
      shapes += (i ? ", " : "") + in_name + "=" + shape_str(in_specs[i].shape) + " " + dtype_name(in_specs[i].dtype);
    }
    throw Error(e.code(), "node '" + node_name + "' (" + op_name + "): " + e.what() + " [inputs: " + shapes + "]");
  }
  TG_CHECK(static_cast<int>(out_specs.size()) == op.num_outputs, "ERR_TG_INTERNAL", "op '", op_name, "' inferred ",
           out_specs.size(), " outputs, declares ", op.num_outputs);

  GraphNode node{&op, inputs, {}, std::move(attrs), node_name, in_backward};
  for (size_t i = 0; i < out_specs.size(); ++i) {
    g_.values.push_back(GraphValue{ValueKind::node_output, node_name + ":" + std::to_string(i), out_specs[i],
                                   node_index});
    node.outputs.push_back(static_cast<ValueId>(g_.values.size() - 1));
  }
  g_.nodes.push_back(std::move(node));
  return g_.nodes.back().outputs;
}

ValueId GraphBuilder::add1(const std::string& op, const std::vector<ValueId>& inputs, Attrs attrs,
                           const std::string& name) {
  std::vector<ValueId> out = add(op, inputs, std::move(attrs), name);
  TG_CHECK(out.size() == 1, "ERR_TG_INTERNAL", "op '", op, "' has ", out.size(), " outputs, not 1");
  return out[0];
}

}  // namespace tg
