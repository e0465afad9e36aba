#include "session_binding.h"

#include <cmath>
#include <memory>

#include "../core/error.h"
#include "../core/session.h"
#include "async_task.h"
#include "convert.h"

namespace tg {

namespace {

ValueKind kind_from(const std::string& s) {
  if (s == "input") return ValueKind::input;
  if (s == "param") return ValueKind::param;
  if (s == "node") return ValueKind::node_output;
  fail("ERR_TG_ARG", "graph: unknown value kind '", s, "'");
}

std::vector<int> int_list(const Napi::Value& v, const char* what) {
  TG_CHECK(v.IsArray(), "ERR_TG_ARG", "graph: ", what, " must be an array");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int> out;
  for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(a.Get(i).As<Napi::Number>().Int32Value());
  return out;
}

Shape shape_from(const Napi::Value& v) {
  TG_CHECK(v.IsArray(), "ERR_TG_ARG", "graph: a shape must be an array");
  Napi::Array a = v.As<Napi::Array>();
  Shape s;
  for (uint32_t i = 0; i < a.Length(); ++i) s.push_back(static_cast<int64_t>(a.Get(i).As<Napi::Number>().Int64Value()));
  return s;
}

GraphDesc desc_from_js(const Napi::Object& o) {
  GraphDesc d;
  Napi::Array values = o.Get("values").As<Napi::Array>();
  for (uint32_t i = 0; i < values.Length(); ++i) {
    Napi::Object v = values.Get(i).As<Napi::Object>();
    GraphDesc::Value val;
    val.kind = kind_from(get_string(v, "kind", "", "graph"));
    val.name = get_string(v, "name", "", "graph");
    Napi::Value shape = v.Get("shape");
    val.any_shape = val.kind == ValueKind::input && (shape.IsNull() || shape.IsUndefined());
    if (val.kind != ValueKind::node_output && !val.any_shape) val.shape = shape_from(shape);
    Napi::Value dtype = v.Get("dtype");
    val.any_dtype = val.kind == ValueKind::input && (dtype.IsNull() || dtype.IsUndefined());
    if (!val.any_dtype && val.kind != ValueKind::node_output) val.dtype = parse_dtype(get_string(v, "dtype", "f32", "graph"), "graph value dtype");
    d.values.push_back(val);
  }
  Napi::Array nodes = o.Get("nodes").As<Napi::Array>();
  for (uint32_t i = 0; i < nodes.Length(); ++i) {
    Napi::Object n = nodes.Get(i).As<Napi::Object>();
    GraphDesc::Node node;
    node.op = get_string(n, "op", "", "graph");
    node.name = get_string(n, "name", "", "graph");
    node.inputs = int_list(n.Get("inputs"), "node inputs");
    node.outputs = int_list(n.Get("outputs"), "node outputs");
    node.attrs = attrs_from_js(n.Get("attrs"), node.op);
    d.nodes.push_back(std::move(node));
  }
  Napi::Object outs = expect_object(o.Get("outputs"), "graph outputs");
  Napi::Array keys = outs.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
    d.outputs[k] = outs.Get(k).As<Napi::Number>().Int32Value();
  }
  d.loss = static_cast<int>(get_number(o, "loss", -1, "graph"));
  Napi::Value updates = o.Get("updates");
  if (updates.IsArray()) {
    Napi::Array ua = updates.As<Napi::Array>();
    for (uint32_t i = 0; i < ua.Length(); ++i) {
      Napi::Object u = ua.Get(i).As<Napi::Object>();
      d.updates.emplace_back(get_string(u, "param", "", "graph update"),
                             static_cast<int>(get_number(u, "value", -1, "graph update")));
    }
  }
  return d;
}

SessionOptions options_from_js(const Napi::Object& o) {
  SessionOptions s;
  Napi::Value tr = o.Get("trainable");
  if (tr.IsArray()) {
    Napi::Array a = tr.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) s.trainable.push_back(a.Get(i).As<Napi::String>().Utf8Value());
  }
  Napi::Value ov = o.Get("optimizer");
  if (ov.IsObject()) {
    Napi::Object opt = ov.As<Napi::Object>();
    const char* w = "optimizer";
    s.has_optimizer = true;
    s.optimizer.type = get_string(opt, "type", "sgd", w);
    s.optimizer.lr = get_number(opt, "lr", 1e-3, w);
    s.optimizer.weight_decay = get_number(opt, "weightDecay", s.optimizer.type == "adamw" ? 1e-2 : 0, w);
    s.optimizer.momentum = get_number(opt, "momentum", 0, w);
    s.optimizer.dampening = get_number(opt, "dampening", 0, w);
    s.optimizer.nesterov = get_bool(opt, "nesterov", false, w);
    s.optimizer.beta1 = get_number(opt, "beta1", 0.9, w);
    s.optimizer.beta2 = get_number(opt, "beta2", 0.999, w);
    s.optimizer.eps = get_number(opt, "eps", 1e-8, w);
    s.optimizer.clip_grad_norm = get_number(opt, "clipGradNorm", 0, w);
    Napi::Value gv = opt.Get("groups");
    if (gv.IsArray()) {
      Napi::Array ga = gv.As<Napi::Array>();
      for (uint32_t i = 0; i < ga.Length(); ++i) {
        Napi::Object go = ga.Get(i).As<Napi::Object>();
        ParamGroup g;
        Napi::Array ps = go.Get("params").As<Napi::Array>();
        for (uint32_t j = 0; j < ps.Length(); ++j) g.params.push_back(ps.Get(j).As<Napi::String>().Utf8Value());
        g.lr = get_number(go, "lr", s.optimizer.lr, w);
        g.weight_decay = get_number(go, "weightDecay", s.optimizer.weight_decay, w);
        s.groups.push_back(std::move(g));
      }
    }
  }
  return s;
}

std::map<std::string, Tensor> tensor_map(const Napi::Value& v, const char* what, Keepalive* keep) {
  Napi::Object o = expect_object(v, what);
  std::map<std::string, Tensor> out;
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
    out[k] = tensor_from_js(o.Get(k), k.c_str(), keep);
  }
  return out;
}

class SessionWrap : public Napi::ObjectWrap<SessionWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "NativeSession",
                       {InstanceMethod("run", &SessionWrap::run), InstanceMethod("step", &SessionWrap::step),
                        InstanceMethod("stepInfo", &SessionWrap::step_info),
                        InstanceMethod("setLr", &SessionWrap::set_lr),
                        InstanceMethod("setTraining", &SessionWrap::set_training),
                        InstanceMethod("optimizerState", &SessionWrap::optimizer_state),
                        InstanceMethod("stepCount", &SessionWrap::step_count),
                        InstanceMethod("setStepCount", &SessionWrap::set_step_count),
                        InstanceMethod("loadOptimizerState", &SessionWrap::load_optimizer_state),
                        InstanceMethod("dispose", &SessionWrap::dispose)});
  }

  // new NativeSession(graphDesc, params { name: tensor }, options)
  explicit SessionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SessionWrap>(info) {
    Napi::Env env = info.Env();
    guarded(env, [&]() -> Napi::Value {
      GraphDesc desc = desc_from_js(expect_object(info[0], "graph"));
      std::map<std::string, Tensor> params = tensor_map(info[1], "params", &params_keep_);
      SessionOptions options = options_from_js(expect_object(info[2], "options"));
      session_ = std::make_shared<Session>(std::move(desc), std::move(options), std::move(params));
      return env.Undefined();
    });
  }

 private:
  std::shared_ptr<Session> live() {
    TG_CHECK(session_ != nullptr, "ERR_TG_DISPOSED", "this session was disposed");
    return session_;
  }

  Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      auto s = live();
      Keepalive keep;
      keep.push_back(Napi::Persistent(info.This()));  // keeps the parameter arrays alive while it runs
      auto feeds = tensor_map(info[0], "feeds", &keep);
      std::vector<std::string> fetch;
      Napi::Array f = info[1].As<Napi::Array>();
      for (uint32_t i = 0; i < f.Length(); ++i) fetch.push_back(f.Get(i).As<Napi::String>().Utf8Value());
      auto out = std::make_shared<std::map<std::string, Tensor>>();
      return AsyncTask::start(
          env, "tensorgraft:run",
          [=] {
            std::lock_guard<std::mutex> lock(s->mutex());
            *out = s->run(feeds, fetch);
          },
          [out](Napi::Env e) -> Napi::Value {
            Napi::Object r = Napi::Object::New(e);
            for (const auto& kv : *out) r.Set(kv.first, tensor_to_js(e, kv.second));
            return r;
          },
          std::move(keep));
    });
  }

  Napi::Value step(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      auto s = live();
      Keepalive keep;
      keep.push_back(Napi::Persistent(info.This()));
      auto feeds = tensor_map(info[0], "feeds", &keep);
      auto loss = std::make_shared<double>(0);
      return AsyncTask::start(
          env, "tensorgraft:step",
          [=] {
            std::lock_guard<std::mutex> lock(s->mutex());
            *loss = s->step(feeds);
          },
          [loss](Napi::Env e) -> Napi::Value {
            Napi::Object r = Napi::Object::New(e);
            r.Set("loss", *loss);
            return r;
          },
          std::move(keep));
    });
  }

  // stepInfo({ name: { shape, dtype } }) -> plan statistics of a training step for such feeds
  Napi::Value step_info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      auto s = live();
      Napi::Object o = expect_object(info[0], "feed shapes");
      std::map<std::string, TensorSpec> shapes;
      Napi::Array keys = o.GetPropertyNames();
      for (uint32_t i = 0; i < keys.Length(); ++i) {
        const std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
        Napi::Object spec = expect_object(o.Get(k), "feed spec");
        shapes[k] = TensorSpec{shape_from(spec.Get("shape")),
                               parse_dtype(get_string(spec, "dtype", "f32", "stepInfo"), "stepInfo dtype")};
      }
      std::lock_guard<std::mutex> lock(s->mutex());
      PlanInfo p = s->step_info(shapes);
      Napi::Object r = Napi::Object::New(env);
      r.Set("forwardNodes", p.forward_nodes);
      r.Set("backwardNodes", p.backward_nodes);
      r.Set("plannedBytes", static_cast<double>(p.planned_bytes));
      r.Set("peakBytes", static_cast<double>(p.peak_bytes));
      r.Set("naiveBytes", static_cast<double>(p.naive_bytes));
      Napi::Array ops = Napi::Array::New(env, p.backward_ops.size());
      for (size_t i = 0; i < p.backward_ops.size(); ++i) ops.Set(i, p.backward_ops[i]);
      r.Set("backwardOps", ops);
      Napi::Array tr = Napi::Array::New(env, s->trainable().size());
      for (size_t i = 0; i < s->trainable().size(); ++i) tr.Set(i, s->trainable()[i]);
      r.Set("trainable", tr);
      return r;
    });
  }

  // setLr(lr, group = -1): a step runs to completion before the rate changes.
  Napi::Value set_lr(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      auto s = live();
      TG_CHECK(info[0].IsNumber(), "ERR_TG_ARG", "setLr: lr must be a number");
      const int group = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : -1;
      std::lock_guard<std::mutex> lock(s->mutex());
      s->optimizer().set_lr(info[0].As<Napi::Number>().DoubleValue(), group);
      return env.Undefined();
    });
  }

  Napi::Value set_training(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      auto s = live();
      std::lock_guard<std::mutex> lock(s->mutex());
      s->set_training(info[0].ToBoolean().Value());
      return env.Undefined();
    });
  }

  // stepCount() -> the steps taken, which seed dropout's masks
  Napi::Value step_count(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      auto s = live();
      std::lock_guard<std::mutex> lock(s->mutex());
      return Napi::Number::New(env, static_cast<double>(s->steps()));
    });
  }

  // setStepCount(n): a resumed run continues dropout's sequence of masks
  Napi::Value set_step_count(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      auto s = live();
      const double n = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
      TG_CHECK(n >= 0 && n == std::floor(n) && n <= 9007199254740991.0, "ERR_TG_ARG",
               "setStepCount: the count must be a non-negative integer");
      std::lock_guard<std::mutex> lock(s->mutex());
      s->set_steps(static_cast<uint64_t>(n));
      return env.Undefined();
    });
  }

  // optimizerState() -> { steps, tensors: { "<param>.<slot>": tensor }, lrs: number[] }
  Napi::Value optimizer_state(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      auto s = live();
      std::lock_guard<std::mutex> lock(s->mutex());
      Optimizer& opt = s->optimizer();
      Napi::Object r = Napi::Object::New(env);
      r.Set("steps", static_cast<double>(opt.steps()));
      Napi::Object ts = Napi::Object::New(env);
      for (const auto& kv : opt.state()) ts.Set(kv.first, tensor_to_js(env, kv.second));
      r.Set("tensors", ts);
      Napi::Array lrs = Napi::Array::New(env, opt.groups().size());
      for (size_t i = 0; i < opt.groups().size(); ++i) lrs.Set(i, opt.groups()[i].lr);
      r.Set("lrs", lrs);
      return r;
    });
  }

  // loadOptimizerState({ steps, tensors, lrs? })
  Napi::Value load_optimizer_state(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      auto s = live();
      Napi::Object o = expect_object(info[0], "optimizer state");
      Keepalive keep;  // the tensors are copied before this returns
      auto tensors = tensor_map(o.Get("tensors"), "optimizer state tensors", &keep);
      const int64_t steps = static_cast<int64_t>(get_number(o, "steps", 0, "optimizer state"));
      std::lock_guard<std::mutex> lock(s->mutex());
      Optimizer& opt = s->optimizer();
      opt.load_state(steps, tensors);
      Napi::Value lrs = o.Get("lrs");
      if (lrs.IsArray()) {
        Napi::Array a = lrs.As<Napi::Array>();
        for (uint32_t i = 0; i < a.Length(); ++i) opt.set_lr(a.Get(i).As<Napi::Number>().DoubleValue(), static_cast<int>(i));
      }
      return env.Undefined();
    });
  }

  // Frees the plans and arenas now; calls in flight finish first (they hold the session).
  Napi::Value dispose(const Napi::CallbackInfo& info) {
    session_.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<Session> session_;
  Keepalive params_keep_;  // the Model's parameter arrays, borrowed by the session
};

}  // namespace

void register_session_class(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeSession", SessionWrap::define(env));
}

}  // namespace tg
