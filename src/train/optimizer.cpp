#include "mvtag/train/optimizer.h"

#include "mvtag/core/base/error.h"
#include "mvtag/core/formats/ndarray.h"

namespace mvtag {

PaddleRmsprop::PaddleRmsprop(std::vector<NamedTensor> params, RmspropOptions options,
                             std::set<std::string> no_decay)
    : options_(options) {
  for (auto& [name, p] : params) {
    Slot s;
    s.name = name;
    s.param = p;
    s.mean_square = torch::zeros_like(p, torch::MemoryFormat::Preserve).detach();
    s.mean_grad = torch::zeros_like(s.mean_square);
    s.moment = torch::zeros_like(s.mean_square);
    s.decay = no_decay.erase(name) == 0;
    slots_.push_back(std::move(s));
  }
  if (!no_decay.empty()) {
    throw_error(ErrorKind::Model, "exempt from weight decay but not a trained parameter",
                Location{"", 0, "", *no_decay.begin()});
  }
}

void PaddleRmsprop::step(double lr) {
  torch::NoGradGuard no_grad;
  const double rho = options_.rho;
  for (auto& s : slots_) {
    const torch::Tensor& grad = s.param.grad();
    if (!grad.defined()) continue;
    torch::Tensor g = (s.decay && options_.weight_decay != 0.0)
                          ? grad.add(s.param, options_.weight_decay)
                          : grad;
    s.mean_square.mul_(rho).addcmul_(g, g, 1.0 - rho);
    torch::Tensor denom;
    if (options_.centered) {
      s.mean_grad.mul_(rho).add_(g, 1.0 - rho);
      denom = s.mean_square.addcmul(s.mean_grad, s.mean_grad, -1.0).add_(options_.epsilon).sqrt_();
    } else {
      denom = s.mean_square.add(options_.epsilon).sqrt_();
    }
    s.moment.mul_(options_.momentum).addcdiv_(g, denom, lr);
    s.param.sub_(s.moment);
  }
}

void PaddleRmsprop::zero_grad() {
  for (auto& s : slots_) {
    auto& g = s.param.mutable_grad();
    if (g.defined()) {
      g.detach_();
      g.zero_();
    }
  }
}

std::vector<NamedTensor> PaddleRmsprop::state() const {
  std::vector<NamedTensor> out;
  out.reserve(slots_.size() * 3);
  for (const auto& s : slots_) {
    out.emplace_back(s.name + "/mean_square", s.mean_square);
    out.emplace_back(s.name + "/mean_grad", s.mean_grad);
    out.emplace_back(s.name + "/moment", s.moment);
  }
  return out;
}

void PaddleRmsprop::load_state(const std::map<std::string, torch::Tensor>& state) {
  torch::NoGradGuard no_grad;
  auto restore = [&](const std::string& name, torch::Tensor& dst) {
    auto it = state.find(name);
    if (it == state.end()) {
      throw_error(ErrorKind::Model, "missing from the optimizer state", Location{"", 0, "", name});
    }
    if (it->second.sizes() != dst.sizes()) {
      throw_error(ErrorKind::Model,
                  "optimizer state has shape " + shape_string(it->second.sizes().vec()) + ", expected " +
                      shape_string(dst.sizes().vec()),
                  Location{"", 0, "", name});
    }
    dst.copy_(it->second);
  };
  for (auto& s : slots_) {
    restore(s.name + "/mean_square", s.mean_square);
    restore(s.name + "/mean_grad", s.mean_grad);
    restore(s.name + "/moment", s.moment);
  }
  if (state.size() != slots_.size() * 3) {
    throw_error(ErrorKind::Model, "optimizer state holds " + std::to_string(state.size()) +
                                      " tensors, expected " + std::to_string(slots_.size() * 3) +
                                      " (was it saved for another model or freeze setting?)");
  }
}

}  // namespace mvtag
