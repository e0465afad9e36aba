// Bindings of the op registry: run any registered op eagerly, its
// vector-Jacobian product, and the list of ops.
#pragma once
#include <napi.h>

namespace tg {

// runOp(name, inputs[], attrs, { device, training, step }) -> Promise<tensor[]>
Napi::Value run_op(const Napi::CallbackInfo& info);
// vjp(name, inputs[], attrs, gradOutputs[] (null: none), options)
//   -> Promise<{ outputs: tensor[], grads: (tensor | null)[], ops: string[], ms? }>
// options.repeat (an integer, default 0) > 0 also times the op and its backward
// on the device, with inputs already there: ms is the mean of that many runs.
Napi::Value vjp(const Napi::CallbackInfo& info);
// listOps() -> [{ name, inputs, outputs, differentiable, cuda, doc }]; cuda:
// whether the op has a CUDA kernel in this build.
Napi::Value list_ops(const Napi::CallbackInfo& info);

}  // namespace tg
