// A compiled model: the forward graph from TypeScript, the parameters it
// reads (memory shared with the JS Model, updated in place), and for each
// distinct set of feed shapes a plan: the graph with its shapes inferred,
// backward nodes for the trainable subgraph, a memory plan and its arena.
// One native call runs a whole step: forward, backward and the optimizer.
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "graph.h"
#include "optimizer.h"
#include "planner.h"

namespace tg {

// The graph as TypeScript describes it. Value ids index `values`; node
// outputs appear there too, in the order the nodes create them.
struct GraphDesc {
  struct Value {
    ValueKind kind;
    std::string name;
    Shape shape;  // for inputs, -1 marks a dimension taken from the feed (the batch)
    DType dtype = DType::f32;
    bool any_shape = false;  // inputs: any rank and size (the layers' ops check it)
    bool any_dtype = false;  // inputs: the feed's dtype (integer targets may be i32 or i64)
  };
  struct Node {
    std::string op;
    std::vector<int> inputs;
    std::vector<int> outputs;
    Attrs attrs;
    std::string name;
  };
  std::vector<Value> values;
  std::vector<Node> nodes;
  std::map<std::string, int> outputs;  // named results ("logits", ...)
  int loss = -1;                       // the value `step` minimises, or -1
  // Buffers rewritten after every run in training mode: (parameter name, value
  // to copy into it), e.g. BatchNorm's running statistics.
  std::vector<std::pair<std::string, int>> updates;
};

struct SessionOptions {
  std::vector<std::string> trainable;  // parameter names that get gradients
  bool has_optimizer = false;
  OptimizerConfig optimizer;
  std::vector<ParamGroup> groups;
};

struct PlanInfo {
  int forward_nodes = 0;
  int backward_nodes = 0;
  size_t planned_bytes = 0;
  size_t peak_bytes = 0;
  size_t naive_bytes = 0;
  std::vector<std::string> backward_ops;  // "<node name>: <op>" of each backward node
};

class Session {
 public:
  // `params` are the JS Model's arrays, borrowed for the session's lifetime.
  Session(GraphDesc desc, SessionOptions options, std::map<std::string, Tensor> params);
  ~Session();

  // Runs the forward nodes needed for `fetch` (output names; the loss is "loss").
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& feeds, const std::vector<std::string>& fetch);
  // Forward, backward and optimizer update; returns the loss. A NaN or infinite
  // loss throws ERR_TG_NAN before any parameter changes.
  double step(const std::map<std::string, Tensor>& feeds);
  // What `step` would run and allocate for feeds of these shapes and dtypes.
  PlanInfo step_info(const std::map<std::string, TensorSpec>& feed_shapes);

  void set_training(bool training) { training_ = training; }
  // Steps taken: seeds dropout's masks, so a resumed run restores it.
  uint64_t steps() const { return steps_; }
  void set_steps(uint64_t steps) { steps_ = steps; }
  Optimizer& optimizer();
  const std::vector<std::string>& trainable() const { return options_.trainable; }
  std::mutex& mutex() { return mu_; }

 private:
  struct Plan;
  Plan& plan_for(bool train, const std::map<std::string, TensorSpec>& shapes, const std::vector<std::string>& fetch);
  std::unique_ptr<Plan> build_plan(bool train, const std::map<std::string, TensorSpec>& shapes,
                                   const std::vector<std::string>& fetch);
  void execute(Plan& plan, const std::map<std::string, Tensor>& feeds);

  GraphDesc desc_;
  SessionOptions options_;
  std::map<std::string, Tensor> params_;
  std::unique_ptr<Optimizer> optimizer_;
  std::map<std::string, std::unique_ptr<Plan>> plans_;
  bool training_ = true;
  uint64_t steps_ = 0;
  std::mutex mu_;  // one run or step at a time: plans share arenas
};

}  // namespace tg
