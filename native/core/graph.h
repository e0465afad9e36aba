// The graph IR: values (graph inputs, parameters, node outputs) and nodes in
// topological order, each node an op from the registry with its attributes.
// TypeScript describes the forward graph; autodiff appends backward nodes with
// the same builder.
#pragma once
#include <string>
#include <vector>

#include "op.h"

namespace tg {

enum class ValueKind : uint8_t { input, param, node_output };

struct GraphValue {
  ValueKind kind;
  std::string name;  // feed or parameter name; "<node>:<i>" for node outputs
  TensorSpec spec;
  int node = -1;     // producing node, for node outputs
};

struct GraphNode {
  const OpDef* op;
  std::vector<ValueId> inputs;
  std::vector<ValueId> outputs;
  Attrs attrs;
  std::string name;       // for error messages: the module path ("layer1.0.conv1") or "<op>_<index>"
  bool backward = false;  // emitted by autodiff
};

struct Graph {
  std::vector<GraphValue> values;
  std::vector<GraphNode> nodes;
};

class GraphBuilder {
 public:
  explicit GraphBuilder(Graph& graph) : g_(graph) {}

  ValueId input(const std::string& name, const TensorSpec& spec);
  ValueId param(const std::string& name, const TensorSpec& spec);

  // Appends a node, inferring its outputs. Shape errors are rethrown with the
  // node's name, the op and the input shapes. Nodes added while in_backward is
  // set are marked as backward nodes.
  std::vector<ValueId> add(const std::string& op, const std::vector<ValueId>& inputs, Attrs attrs = {},
                           const std::string& name = "");
  ValueId add1(const std::string& op, const std::vector<ValueId>& inputs, Attrs attrs = {},
               const std::string& name = "");

  const TensorSpec& spec(ValueId v) const;
  Graph& graph() { return g_; }
  bool in_backward = false;
  // While autodiff runs a node's backward rule: that node's name, so the
  // unnamed nodes it emits read "<node>.grad.<op>_<index>".
  std::string backward_of;

 private:
  Graph& g_;
};

// A short description of a value for messages: "x (2, 3) f32".
std::string describe_value(const Graph& g, ValueId v);

}  // namespace tg
