// Optimizers applied natively at the end of a training step, with PyTorch's
// exact update rules (torch.optim.SGD and torch.optim.AdamW), parameter
// groups with their own learning rate and weight decay, and gradient clipping
// by global norm (torch.nn.utils.clip_grad_norm_). Only trainable parameters
// are known here, so frozen ones have no state at all.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "tensor.h"

namespace tg {

struct OptimizerConfig {
  std::string type = "sgd";  // "sgd" | "adamw"
  double lr = 1e-3;
  double weight_decay = 0;
  // SGD
  double momentum = 0, dampening = 0;
  bool nesterov = false;
  // AdamW
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  // Clip the global L2 norm of all gradients to this before the update (0: off).
  double clip_grad_norm = 0;
};

struct ParamGroup {
  std::vector<std::string> params;  // names
  double lr;
  double weight_decay;
};

class Optimizer {
 public:
  // `groups` partition the trainable parameters; every trainable parameter must be in one.
  Optimizer(OptimizerConfig config, std::vector<ParamGroup> groups);

  // One update of `params[i]` from `grads[i]` (both f32 host tensors, same order as names).
  // Returns the global gradient norm before clipping.
  double step(const std::vector<std::string>& names, const std::vector<Tensor>& params,
              const std::vector<Tensor>& grads);

  void set_lr(double lr, int group);  // group < 0: all groups
  const std::vector<ParamGroup>& groups() const { return groups_; }
  int64_t steps() const { return steps_; }

  // State as named host tensors: "<param>.momentum_buffer", "<param>.exp_avg",
  // "<param>.exp_avg_sq", plus the step count; restored by load_state.
  std::map<std::string, Tensor> state() const;
  void load_state(int64_t steps, const std::map<std::string, Tensor>& state);

 private:
  OptimizerConfig config_;
  std::vector<ParamGroup> groups_;
  std::map<std::string, int> group_of_;
  std::map<std::string, std::vector<Tensor>> slots_;  // per param: momentum or (exp_avg, exp_avg_sq)
  int64_t steps_ = 0;
};

}  // namespace tg
