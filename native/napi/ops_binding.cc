#include "ops_binding.h"

#include <memory>

#include "../core/device_kernels.h"
#include "../core/eager.h"
#include "../core/error.h"
#include "async_task.h"
#include "convert.h"

namespace tg {

namespace {

std::vector<Tensor> tensors_from_js(const Napi::Value& v, const char* what, Keepalive* keep, bool allow_null) {
  TG_CHECK(v.IsArray(), "ERR_TG_ARG", what, " must be an array of tensors");
  Napi::Array arr = v.As<Napi::Array>();
  std::vector<Tensor> out;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value item = arr.Get(i);
    if (allow_null && (item.IsNull() || item.IsUndefined())) {
      out.emplace_back();
      continue;
    }
    std::string name = std::string(what) + "[" + std::to_string(i) + "]";
    out.push_back(tensor_from_js(item, name.c_str(), keep));
  }
  return out;
}

struct RunOptions {
  Device device;
  RunContext ctx;
  int repeat = 0;  // vjp only: timed repetitions for benchmarks
};

// Most timed repetitions one call may ask for.
constexpr double kMaxRepeat = 100000;

RunOptions options_from_js(const Napi::Value& v, const char* where) {
  RunOptions r;
  r.device = get_device(v, where);
  if (!v.IsUndefined() && !v.IsNull()) {
    Napi::Object o = v.As<Napi::Object>();
    r.ctx.training = get_bool(o, "training", true, where);
    r.ctx.step = static_cast<uint64_t>(get_number(o, "step", 0, where));
    const double repeat = get_number(o, "repeat", 0, where);
    TG_CHECK(repeat >= 0 && repeat <= kMaxRepeat && repeat == static_cast<double>(static_cast<int>(repeat)),
             "ERR_TG_ARG", where, ": options.repeat must be an integer from 0 to ", kMaxRepeat, ", got ", repeat);
    r.repeat = static_cast<int>(repeat);
  }
  return r;
}

Napi::Array tensors_to_js(Napi::Env env, const std::vector<Tensor>& ts) {
  Napi::Array arr = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); ++i) arr.Set(i, ts[i].defined() ? tensor_to_js(env, ts[i]) : env.Null());
  return arr;
}

}  // namespace

Napi::Value run_op(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    TG_CHECK(info[0].IsString(), "ERR_TG_ARG", "runOp: the op name must be a string");
    const std::string op = info[0].As<Napi::String>().Utf8Value();
    Keepalive keep;
    std::vector<Tensor> inputs = tensors_from_js(info[1], "inputs", &keep, false);
    Attrs attrs = attrs_from_js(info[2], op);
    RunOptions opts = options_from_js(info[3], op.c_str());
    auto out = std::make_shared<std::vector<Tensor>>();
    return AsyncTask::start(
        env, "tensorgraft:op", [=] { *out = eager_op(op, inputs, attrs, opts.device, opts.ctx); },
        [out](Napi::Env e) -> Napi::Value { return tensors_to_js(e, *out); }, std::move(keep));
  });
}

Napi::Value vjp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    TG_CHECK(info[0].IsString(), "ERR_TG_ARG", "vjp: the op name must be a string");
    const std::string op = info[0].As<Napi::String>().Utf8Value();
    Keepalive keep;
    std::vector<Tensor> inputs = tensors_from_js(info[1], "inputs", &keep, false);
    Attrs attrs = attrs_from_js(info[2], op);
    std::vector<Tensor> grads = tensors_from_js(info[3], "gradOutputs", &keep, true);
    RunOptions opts = options_from_js(info[4], op.c_str());
    auto out = std::make_shared<VjpResult>();
    return AsyncTask::start(
        env, "tensorgraft:vjp",
        [=] { *out = eager_vjp(op, inputs, attrs, grads, opts.device, opts.ctx, opts.repeat); },
        [out, timed = opts.repeat > 0](Napi::Env e) -> Napi::Value {
          Napi::Object r = Napi::Object::New(e);
          r.Set("outputs", tensors_to_js(e, out->outputs));
          r.Set("grads", tensors_to_js(e, out->input_grads));
          Napi::Array ops = Napi::Array::New(e, out->ops_used.size());
          for (size_t i = 0; i < out->ops_used.size(); ++i) ops.Set(i, out->ops_used[i]);
          r.Set("ops", ops);
          if (timed) r.Set("ms", out->ms);
          return r;
        },
        std::move(keep));
  });
}

Napi::Value list_ops(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const std::vector<std::string> orphans = cuda_kernels_without_op();
    TG_CHECK(orphans.empty(), "ERR_TG_INTERNAL", "CUDA kernels registered for ops that do not exist: ",
             orphans.front());
    std::vector<const OpDef*> ops = all_ops();
    Napi::Array arr = Napi::Array::New(env, ops.size());
    for (size_t i = 0; i < ops.size(); ++i) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", ops[i]->name);
      Napi::Array ins = Napi::Array::New(env, ops[i]->inputs.size());
      for (size_t j = 0; j < ops[i]->inputs.size(); ++j) ins.Set(j, ops[i]->inputs[j]);
      o.Set("inputs", ins);
      o.Set("outputs", ops[i]->num_outputs);
      o.Set("differentiable", ops[i]->grad != nullptr);
      o.Set("cuda", find_cuda_kernel(ops[i]->name) != nullptr);
      o.Set("doc", ops[i]->doc ? ops[i]->doc : "");
      arr.Set(i, o);
    }
    return arr;
  });
}

}  // namespace tg
