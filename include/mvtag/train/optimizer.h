// The original's optimizer: Paddle's RMSProp (centered, rho 0.95, epsilon *inside* the square
// root, momentum 0) with L2 decay added to the gradient of every trained parameter except an
// explicit exemption list. torch::optim::RMSprop differs (eps outside the sqrt, alpha 0.99).
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace mvtag {

struct RmspropOptions {
  double rho = 0.95;
  double epsilon = 1e-6;
  double momentum = 0.0;
  bool centered = true;
  double weight_decay = 8e-4;  // L2 coefficient: g <- g + weight_decay * w
};

using NamedTensor = std::pair<std::string, torch::Tensor>;

class PaddleRmsprop {
 public:
  // `params`: the trained parameters (frozen ones are simply not passed). `no_decay`: names
  // exempt from L2 decay (the original exempts only the audio forward projection bias).
  PaddleRmsprop(std::vector<NamedTensor> params, RmspropOptions options,
                std::set<std::string> no_decay = {});

  // One update with learning rate `lr`. Parameters without a gradient are left untouched.
  void step(double lr);
  void zero_grad();

  // Accumulators as named tensors ("<param>/mean_square", "<param>/mean_grad",
  // "<param>/moment"), for checkpoints.
  std::vector<NamedTensor> state() const;
  // Restores accumulators saved by state(); every name must be present with the right shape.
  void load_state(const std::map<std::string, torch::Tensor>& state);

  const RmspropOptions& options() const { return options_; }

 private:
  struct Slot {
    std::string name;
    torch::Tensor param;
    torch::Tensor mean_square;
    torch::Tensor mean_grad;
    torch::Tensor moment;
    bool decay;
  };
  std::vector<Slot> slots_;
  RmspropOptions options_;
};

}  // namespace mvtag
