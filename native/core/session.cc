#include "session.h"

#include <cmath>
#include <cstring>
#include <set>

#include "autodiff.h"
#include "error.h"
#include "interpreter.h"

namespace tg {

struct Session::Plan {
  Graph graph;
  MemoryPlan memory;
  std::vector<std::shared_ptr<Buffer>> arena;
  std::map<std::string, ValueId> feeds;   // input name -> value
  std::map<std::string, ValueId> params;  // param name -> value
  std::map<std::string, ValueId> fetch;   // output name -> value
  std::vector<std::string> grad_names;    // trainable params, in the order of grad_values
  std::vector<ValueId> grad_values;
  std::vector<std::pair<std::string, ValueId>> updates;  // buffer name <- value, after training runs
  ValueId loss = kNoValue;
  int forward_nodes = 0;
  std::vector<Tensor> env;                // per value, bound before each run
};

Session::Session(GraphDesc desc, SessionOptions options, std::map<std::string, Tensor> params)
    : desc_(std::move(desc)), options_(std::move(options)), params_(std::move(params)) {
  std::set<std::string> declared;
  for (const auto& v : desc_.values) {
    if (v.kind != ValueKind::param) continue;
    declared.insert(v.name);
    auto it = params_.find(v.name);
    TG_CHECK(it != params_.end(), "ERR_TG_ARG", "compile: parameter '", v.name, "' has no tensor");
    TG_CHECK(it->second.dtype() == DType::f32 && it->second.shape() == v.shape, "ERR_TG_SHAPE", "compile: parameter '",
             v.name, "' is ", shape_str(it->second.shape()), " ", dtype_name(it->second.dtype()), ", the graph expects ",
             shape_str(v.shape), " f32");
  }
  for (const std::string& t : options_.trainable) {
    TG_CHECK(declared.count(t), "ERR_TG_ARG", "compile: trainable parameter '", t, "' is not in the graph");
  }
  if (options_.has_optimizer) optimizer_ = std::make_unique<Optimizer>(options_.optimizer, options_.groups);
}

Session::~Session() = default;

Optimizer& Session::optimizer() {
  TG_CHECK(optimizer_ != nullptr, "ERR_TG_ARG", "this session was compiled without an optimizer");
  return *optimizer_;
}

std::unique_ptr<Session::Plan> Session::build_plan(bool train, const std::map<std::string, TensorSpec>& shapes,
                                                    const std::vector<std::string>& fetch) {
  auto plan = std::make_unique<Plan>();
  GraphBuilder b(plan->graph);
  std::vector<ValueId> ids(desc_.values.size(), kNoValue);
  for (size_t i = 0; i < desc_.values.size(); ++i) {
    const GraphDesc::Value& v = desc_.values[i];
    if (v.kind == ValueKind::input) {
      auto it = shapes.find(v.name);
      // A feed may be left out when nothing fetched needs it (run() without a target).
      if (it == shapes.end()) continue;
      const Shape& got = it->second.shape;
      bool ok = v.any_shape || got.size() == v.shape.size();
      for (size_t d = 0; ok && !v.any_shape && d < got.size(); ++d) ok = v.shape[d] < 0 || v.shape[d] == got[d];
      TG_CHECK(ok, "ERR_TG_SHAPE", "feed '", v.name, "': expected shape ", shape_str(v.shape),
               " (-1: any size), got ", shape_str(got));
      TG_CHECK(v.any_dtype || it->second.dtype == v.dtype, "ERR_TG_DTYPE", "feed '", v.name, "': expected ",
               dtype_name(v.dtype), ", got ", dtype_name(it->second.dtype));
      ids[i] = b.input(v.name, TensorSpec{got, it->second.dtype});
      plan->feeds[v.name] = ids[i];
    } else if (v.kind == ValueKind::param) {
      ids[i] = b.param(v.name, TensorSpec{v.shape, DType::f32});
      plan->params[v.name] = ids[i];
    }
  }
  // Nodes downstream of a missing feed are left out; `missing[v]` names the
  // feed that value would have needed, for the error if it is asked for.
  std::vector<std::string> missing(desc_.values.size());
  for (size_t i = 0; i < desc_.values.size(); ++i) {
    if (desc_.values[i].kind == ValueKind::input && ids[i] == kNoValue) missing[i] = desc_.values[i].name;
  }
  for (const GraphDesc::Node& n : desc_.nodes) {
    std::vector<ValueId> ins;
    std::string lacking;
    for (int in : n.inputs) {
      TG_CHECK(in >= 0 && static_cast<size_t>(in) < ids.size(), "ERR_TG_INTERNAL", "node '", n.name, "' reads value ",
               in, ", which does not exist");
      if (!missing[static_cast<size_t>(in)].empty()) lacking = missing[static_cast<size_t>(in)];
      ins.push_back(ids[static_cast<size_t>(in)]);
    }
    if (!lacking.empty()) {
      for (int out : n.outputs) missing[static_cast<size_t>(out)] = lacking;
      continue;
    }
    for (size_t j = 0; j < ins.size(); ++j) {
      TG_CHECK(ins[j] != kNoValue, "ERR_TG_INTERNAL", "node '", n.name, "' reads value ", n.inputs[j],
               " before it is defined");
    }
    std::vector<ValueId> outs = b.add(n.op, ins, n.attrs, n.name);
    TG_CHECK(outs.size() == n.outputs.size(), "ERR_TG_INTERNAL", "node '", n.name, "' has ", outs.size(),
             " outputs, the description says ", n.outputs.size());
    for (size_t j = 0; j < outs.size(); ++j) ids[static_cast<size_t>(n.outputs[j])] = outs[j];
  }
  auto value_of = [&](int desc_id, const std::string& what) {
    const std::string& lack = missing[static_cast<size_t>(desc_id)];
    TG_CHECK(lack.empty(), "ERR_TG_ARG", what, " needs the feed '", lack, "', which was not given");
    return ids[static_cast<size_t>(desc_id)];
  };
  plan->forward_nodes = static_cast<int>(plan->graph.nodes.size());

  std::vector<ValueId> keep;
  for (const std::string& name : fetch) {
    ValueId v = kNoValue;
    if (name == "loss" && desc_.loss >= 0) {
      v = value_of(desc_.loss, "the loss");
    } else {
      auto it = desc_.outputs.find(name);
      TG_CHECK(it != desc_.outputs.end(), "ERR_TG_ARG", "unknown output '", name, "'");
      v = value_of(it->second, "output '" + name + "'");
    }
    plan->fetch[name] = v;
    keep.push_back(v);
  }
  for (const auto& u : desc_.updates) {
    TG_CHECK(plan->params.count(u.first), "ERR_TG_ARG", "graph: update of '", u.first, "', which is not a parameter");
    const ValueId v = value_of(u.second, "the update of '" + u.first + "'");
    TG_CHECK(plan->graph.values[static_cast<size_t>(v)].spec.shape == plan->graph.values[plan->params[u.first]].spec.shape,
             "ERR_TG_SHAPE", "graph: update of '", u.first, "' has the wrong shape");
    plan->updates.emplace_back(u.first, v);
    keep.push_back(v);
  }
  if (train) {
    TG_CHECK(desc_.loss >= 0, "ERR_TG_ARG", "step: this model was compiled without a loss");
    plan->loss = value_of(desc_.loss, "step");
    const TensorSpec& ls = plan->graph.values[static_cast<size_t>(plan->loss)].spec;
    TG_CHECK(ls.shape.empty() && ls.dtype == DType::f32, "ERR_TG_SHAPE", "step: the loss must be an f32 scalar, got ",
             shape_str(ls.shape), " ", dtype_name(ls.dtype));
    std::vector<ValueId> wrt;
    for (const std::string& t : options_.trainable) wrt.push_back(plan->params.at(t));
    b.in_backward = true;
    ValueId seed = b.add1("ones_like", {plan->loss}, Attrs(), "loss_grad_seed");
    b.in_backward = false;
    std::vector<ValueId> grads = build_backward(b, {plan->loss}, {seed}, wrt);
    for (size_t i = 0; i < grads.size(); ++i) {
      // A trainable parameter the loss does not depend on gets no update, as in PyTorch (grad is None).
      if (grads[i] == kNoValue) continue;
      plan->grad_names.push_back(options_.trainable[i]);
      plan->grad_values.push_back(grads[i]);
      keep.push_back(grads[i]);
    }
    keep.push_back(plan->loss);
  }
  plan->memory = plan_memory(plan->graph, keep);
  for (size_t bytes : plan->memory.slot_bytes) plan->arena.push_back(Buffer::allocate(bytes, Device{}));
  plan->env.resize(plan->graph.values.size());
  for (size_t v = 0; v < plan->graph.values.size(); ++v) {
    const int s = plan->memory.slot[v];
    if (s < 0) continue;
    const TensorSpec& spec = plan->graph.values[v].spec;
    plan->env[v] = Tensor(plan->arena[static_cast<size_t>(s)], spec.dtype, spec.shape);
  }
  for (const auto& kv : plan->params) plan->env[static_cast<size_t>(kv.second)] = params_.at(kv.first);
  return plan;
}

Session::Plan& Session::plan_for(bool train, const std::map<std::string, TensorSpec>& shapes,
                                 const std::vector<std::string>& fetch) {
  std::string key = train ? "step|" : "run|";
  for (const auto& kv : shapes) key += kv.first + shape_str(kv.second.shape) + dtype_name(kv.second.dtype) + ";";
  key += "|";
  for (const auto& f : fetch) key += f + ",";
  auto it = plans_.find(key);
  if (it == plans_.end()) it = plans_.emplace(key, build_plan(train, shapes, fetch)).first;
  return *it->second;
}

void Session::execute(Plan& plan, const std::map<std::string, Tensor>& feeds) {
  for (const auto& kv : plan.feeds) {
    const Tensor& t = feeds.at(kv.first);
    check_binding(plan.graph, kv.second, t);
    plan.env[static_cast<size_t>(kv.second)] = t;
  }
  RunContext ctx;
  ctx.training = training_;
  ctx.step = steps_;
  for (int index : plan.memory.order) {
    const GraphNode& node = plan.graph.nodes[static_cast<size_t>(index)];
    std::vector<Tensor> ins, outs;
    for (ValueId v : node.inputs) ins.push_back(plan.env[static_cast<size_t>(v)]);
    for (ValueId v : node.outputs) outs.push_back(plan.env[static_cast<size_t>(v)]);
    node.op->cpu(ins, outs, node.attrs, ctx);
  }
  if (training_) {
    for (const auto& u : plan.updates) {
      const Tensor& src = plan.env[static_cast<size_t>(u.second)];
      std::memcpy(params_.at(u.first).raw(), src.raw(), src.nbytes());
    }
  }
  // Feeds are borrowed for this call only.
  for (const auto& kv : plan.feeds) plan.env[static_cast<size_t>(kv.second)] = Tensor();
}

namespace {

std::map<std::string, TensorSpec> shapes_of(const std::map<std::string, Tensor>& feeds) {
  std::map<std::string, TensorSpec> s;
  for (const auto& kv : feeds) s[kv.first] = TensorSpec{kv.second.shape(), kv.second.dtype()};
  return s;
}

Tensor copy_of(const Tensor& t) {
  Tensor c = Tensor::empty(t.shape(), t.dtype(), Device{});
  if (t.nbytes()) std::memcpy(c.raw(), t.raw(), t.nbytes());
  return c;
}

}  // namespace

std::map<std::string, Tensor> Session::run(const std::map<std::string, Tensor>& feeds,
                                           const std::vector<std::string>& fetch) {
  TG_CHECK(!fetch.empty(), "ERR_TG_ARG", "run: nothing to fetch");
  Plan& plan = plan_for(false, shapes_of(feeds), fetch);
  execute(plan, feeds);
  std::map<std::string, Tensor> out;
  // Copies: the arena is reused by the next call.
  for (const auto& kv : plan.fetch) out[kv.first] = copy_of(plan.env[static_cast<size_t>(kv.second)]);
  return out;
}

double Session::step(const std::map<std::string, Tensor>& feeds) {
  Optimizer& opt = optimizer();
  Plan& plan = plan_for(true, shapes_of(feeds), {});
  execute(plan, feeds);
  const double loss = plan.env[static_cast<size_t>(plan.loss)].data<float>()[0];
  TG_CHECK(std::isfinite(loss), "ERR_TG_NAN", "step ", steps_ + 1, ": the loss is ", loss,
           "; parameters were not updated (lower the learning rate, check the inputs for NaN, or clip gradients)");
  std::vector<Tensor> params, grads;
  for (size_t i = 0; i < plan.grad_names.size(); ++i) {
    params.push_back(params_.at(plan.grad_names[i]));
    grads.push_back(plan.env[static_cast<size_t>(plan.grad_values[i])]);
  }
  opt.step(plan.grad_names, params, grads);
  ++steps_;
  return loss;
}

PlanInfo Session::step_info(const std::map<std::string, TensorSpec>& feed_shapes) {
  Plan& plan = plan_for(true, feed_shapes, {});
  PlanInfo info;
  info.forward_nodes = plan.forward_nodes;
  for (int index : plan.memory.order) {
    const GraphNode& n = plan.graph.nodes[static_cast<size_t>(index)];
    if (!n.backward) continue;
    ++info.backward_nodes;
    info.backward_ops.push_back(n.name + ": " + n.op->name);
  }
  info.planned_bytes = plan.memory.planned_bytes;
  info.peak_bytes = plan.memory.peak_bytes;
  info.naive_bytes = plan.memory.naive_bytes;
  return info;
}

}  // namespace tg
