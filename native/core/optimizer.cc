#include "optimizer.h"

#include <cmath>
#include <cstring>

#include "error.h"
#include "../cpu/kernel_util.h"

namespace tg {

namespace {

constexpr int64_t kGrain = 1 << 14;

Tensor zeros_like(const Tensor& t) {
  Tensor z = Tensor::empty(t.shape(), DType::f32, Device{});
  std::memset(z.raw(), 0, z.nbytes());
  return z;
}

}  // namespace

Optimizer::Optimizer(OptimizerConfig config, std::vector<ParamGroup> groups)
    : config_(std::move(config)), groups_(std::move(groups)) {
  TG_CHECK(config_.type == "sgd" || config_.type == "adamw", "ERR_TG_ARG", "optimizer: unknown type '", config_.type,
           "' (expected sgd or adamw)");
  TG_CHECK(!(config_.nesterov && (config_.momentum <= 0 || config_.dampening != 0)), "ERR_TG_ARG",
           "optimizer: nesterov momentum requires a momentum > 0 and zero dampening");
  for (size_t g = 0; g < groups_.size(); ++g) {
    TG_CHECK(groups_[g].lr >= 0, "ERR_TG_ARG", "optimizer: group ", g, " has a negative learning rate ", groups_[g].lr);
    for (const std::string& p : groups_[g].params) {
      TG_CHECK(group_of_.count(p) == 0, "ERR_TG_ARG", "optimizer: parameter '", p, "' is in two groups");
      group_of_[p] = static_cast<int>(g);
    }
  }
}

void Optimizer::set_lr(double lr, int group) {
  TG_CHECK(std::isfinite(lr) && lr >= 0, "ERR_TG_ARG", "setLr: learning rate must be a finite number >= 0, got ", lr);
  TG_CHECK(group < static_cast<int>(groups_.size()), "ERR_TG_ARG", "setLr: group ", group, " does not exist (",
           groups_.size(), " groups)");
  for (size_t g = 0; g < groups_.size(); ++g) {
    if (group < 0 || static_cast<int>(g) == group) groups_[g].lr = lr;
  }
}

double Optimizer::step(const std::vector<std::string>& names, const std::vector<Tensor>& params,
                       const std::vector<Tensor>& grads) {
  ++steps_;
  // Global norm in double: the sum of squares over millions of values loses
  // too much in float.
  double sumsq = 0;
  for (const Tensor& g : grads) {
    const float* pg = g.data<float>();
    for (int64_t i = 0; i < g.numel(); ++i) sumsq += static_cast<double>(pg[i]) * pg[i];
  }
  const double norm = std::sqrt(sumsq);
  float clip = 1.0f;
  if (config_.clip_grad_norm > 0) {
    // torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6), only down.
    const double coef = config_.clip_grad_norm / (norm + 1e-6);
    if (coef < 1.0) clip = static_cast<float>(coef);
  }

  for (size_t i = 0; i < names.size(); ++i) {
    auto git = group_of_.find(names[i]);
    TG_CHECK(git != group_of_.end(), "ERR_TG_INTERNAL", "optimizer: parameter '", names[i], "' is in no group");
    const ParamGroup& group = groups_[static_cast<size_t>(git->second)];
    const float lr = static_cast<float>(group.lr);
    const float wd = static_cast<float>(group.weight_decay);
    float* p = params[i].data<float>();
    const float* g = grads[i].data<float>();
    const int64_t n = params[i].numel();
    std::vector<Tensor>& slots = slots_[names[i]];

    if (config_.type == "sgd") {
      const float mom = static_cast<float>(config_.momentum);
      const float damp = static_cast<float>(config_.dampening);
      const bool first = slots.empty();
      if (mom != 0 && first) slots.push_back(zeros_like(params[i]));
      float* buf = mom != 0 ? slots[0].data<float>() : nullptr;
      const bool nesterov = config_.nesterov;
      parallel_range(n, kGrain, [&](int64_t b, int64_t e) {
        for (int64_t j = b; j < e; ++j) {
          float d = g[j] * clip + wd * p[j];
          if (buf) {
            // The first step initialises the buffer with the gradient itself.
            buf[j] = first ? d : mom * buf[j] + (1 - damp) * d;
            d = nesterov ? d + mom * buf[j] : buf[j];
          }
          p[j] -= lr * d;
        }
      });
    } else {
      if (slots.empty()) {
        slots.push_back(zeros_like(params[i]));
        slots.push_back(zeros_like(params[i]));
      }
      float* m = slots[0].data<float>();
      float* v = slots[1].data<float>();
      const float b1 = static_cast<float>(config_.beta1), b2 = static_cast<float>(config_.beta2);
      const double bc1 = 1 - std::pow(config_.beta1, static_cast<double>(steps_));
      const double bc2 = 1 - std::pow(config_.beta2, static_cast<double>(steps_));
      const float step_size = static_cast<float>(group.lr / bc1);
      const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
      const float eps = static_cast<float>(config_.eps);
      const float decay = 1 - lr * wd;  // decoupled weight decay
      parallel_range(n, kGrain, [&](int64_t b, int64_t e) {
        for (int64_t j = b; j < e; ++j) {
          const float gj = g[j] * clip;
          p[j] *= decay;
          m[j] = b1 * m[j] + (1 - b1) * gj;
          v[j] = b2 * v[j] + (1 - b2) * gj * gj;
          p[j] -= step_size * m[j] / (std::sqrt(v[j]) / bc2_sqrt + eps);
        }
      });
    }
  }
  return norm;
}

std::map<std::string, Tensor> Optimizer::state() const {
  std::map<std::string, Tensor> out;
  for (const auto& kv : slots_) {
    const char* names_sgd[] = {"momentum_buffer"};
    const char* names_adam[] = {"exp_avg", "exp_avg_sq"};
    for (size_t s = 0; s < kv.second.size(); ++s) {
      const Tensor& src = kv.second[s];
      Tensor copy = Tensor::empty(src.shape(), DType::f32, Device{});
      std::memcpy(copy.raw(), src.raw(), src.nbytes());
      out[kv.first + "." + (config_.type == "sgd" ? names_sgd[0] : names_adam[s])] = copy;
    }
  }
  return out;
}

void Optimizer::load_state(int64_t steps, const std::map<std::string, Tensor>& state) {
  TG_CHECK(steps >= 0, "ERR_TG_ARG", "optimizer state: step must be >= 0, got ", steps);
  std::map<std::string, std::vector<Tensor>> slots;
  for (const auto& kv : state) {
    const size_t dot = kv.first.rfind('.');
    TG_CHECK(dot != std::string::npos, "ERR_TG_ARG", "optimizer state: malformed key '", kv.first, "'");
    const std::string param = kv.first.substr(0, dot), slot = kv.first.substr(dot + 1);
    TG_CHECK(group_of_.count(param), "ERR_TG_ARG", "optimizer state: '", param, "' is not a trainable parameter");
    int index;
    if (config_.type == "sgd") {
      TG_CHECK(slot == "momentum_buffer", "ERR_TG_ARG", "optimizer state: SGD has no slot '", slot, "'");
      index = 0;
    } else {
      TG_CHECK(slot == "exp_avg" || slot == "exp_avg_sq", "ERR_TG_ARG", "optimizer state: AdamW has no slot '", slot,
               "'");
      index = slot == "exp_avg" ? 0 : 1;
    }
    TG_CHECK(kv.second.dtype() == DType::f32, "ERR_TG_DTYPE", "optimizer state '", kv.first, "' must be f32");
    std::vector<Tensor>& v = slots[param];
    if (v.size() <= static_cast<size_t>(index)) v.resize(static_cast<size_t>(index) + 1);
    Tensor copy = Tensor::empty(kv.second.shape(), DType::f32, Device{});
    std::memcpy(copy.raw(), kv.second.raw(), kv.second.nbytes());
    v[static_cast<size_t>(index)] = copy;
  }
  for (const auto& kv : slots) {
    const size_t want = config_.type == "sgd" ? 1 : 2;
    TG_CHECK(kv.second.size() == want && kv.second.back().defined() && kv.second.front().defined(), "ERR_TG_ARG",
             "optimizer state: '", kv.first, "' is missing a slot");
  }
  slots_ = std::move(slots);
  steps_ = steps;
}

}  // namespace tg
