// The op registry. Each op family (native/cpu/<family>.cc) registers its ops
// with TG_REGISTER_OP: a name, shape and dtype inference, a CPU kernel, and a
// backward rule that emits the gradient as more graph nodes — usually calls to
// the family's own "<op>_backward" ops, which are registered ops too, so that
// every gradient kernel is reachable from tg.ops and from the op tests.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "attrs.h"
#include "tensor.h"

namespace tg {

struct TensorSpec {
  Shape shape;
  DType dtype = DType::f32;
};

// What a kernel may need to know about the run it is part of.
struct RunContext {
  bool training = true;  // dropout is the identity when false
  uint64_t step = 0;     // mixed into random seeds so every step draws a new mask
};

using ValueId = int32_t;
constexpr ValueId kNoValue = -1;
class GraphBuilder;

// Given the forward node's values, emit nodes computing the gradient of the
// loss with respect to each input. Returns one ValueId per input: kNoValue
// where no gradient flows (or needs_grad[i] is false, which rules may use to
// skip work). grad_outputs[j] is kNoValue when output j receives no gradient.
struct GradContext {
  const std::vector<ValueId>& inputs;
  const std::vector<ValueId>& outputs;
  const std::vector<ValueId>& grad_outputs;
  const std::vector<bool>& needs_grad;
  const Attrs& attrs;
};
using GradFn = std::vector<ValueId> (*)(GraphBuilder& g, const GradContext& ctx);

// Output specs from input specs; throws ERR_TG_SHAPE / ERR_TG_DTYPE / ERR_TG_ARG
// with a message about the op's own inputs (the graph adds the node's name).
using InferFn = std::vector<TensorSpec> (*)(const std::vector<TensorSpec>& inputs, const Attrs& attrs);
// Computes outputs (allocated to the inferred specs, contiguous, uninitialised)
// from inputs. Host tensors; may use the thread pool.
using CpuFn = void (*)(const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs, const Attrs& attrs,
                       const RunContext& ctx);

struct OpDef {
  const char* name;
  // Input names, for docs and errors; a trailing '?' marks an optional input,
  // which may only be followed by optional ones ({"logits", "target", "weight?"}).
  std::vector<const char*> inputs;
  int num_outputs;
  InferFn infer;
  CpuFn cpu;
  GradFn grad;       // nullptr: not differentiable (integer outputs, backward ops)
  const char* doc;   // one line: what it computes, with shapes
};

void register_op(const OpDef& def);
// Throws ERR_TG_ARG for an unknown name, listing the close matches.
const OpDef& find_op(const std::string& name);
const OpDef* find_op_or_null(const std::string& name);
std::vector<const OpDef*> all_ops();  // sorted by name

struct OpRegistrar {
  explicit OpRegistrar(const OpDef& def) { register_op(def); }
};

}  // namespace tg

#define TG_OP_CONCAT2(a, b) a##b
#define TG_OP_CONCAT(a, b) TG_OP_CONCAT2(a, b)
// TG_REGISTER_OP({ "relu", {"x"}, 1, infer_same, cpu_relu_forward, grad_relu, "max(x, 0)" });
#define TG_REGISTER_OP(...) \
  static const ::tg::OpRegistrar TG_OP_CONCAT(tg_op_registrar_, __LINE__)(::tg::OpDef __VA_ARGS__)
