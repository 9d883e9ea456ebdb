// The original's initialisers for training from scratch: TruncatedNormal(initializer_range) for ERNIE
// (scenario_lib/models/ernie.py) and Paddle's defaults elsewhere (Xavier-uniform weights, zero biases).
// They draw from LibTorch's global generator, so torch::manual_seed(s) makes a model reproducible.
#pragma once

#include <cstdint>

#include <torch/nn/modules/linear.h>
#include <torch/types.h>

namespace mvtag {

// Paddle's Xavier (Glorot) uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)). The fans
// are given explicitly because Paddle computes them on its own layout ([in, out] for fc,
// [k·D, F] for sequence_conv, [H, 4H] for LSTM), which differs from torch's for convolutions.
void xavier_uniform(torch::Tensor& weight, std::int64_t fan_in, std::int64_t fan_out);

// Paddle's fc layer as built from scratch: a Linear(in, out) with a Xavier-uniform weight and, if it
// has one, a zero bias.
torch::nn::Linear xavier_linear(std::int64_t in, std::int64_t out, bool bias = true);

// Normal(0, std) truncated to ±2 std (Paddle's TruncatedNormal), by rejection sampling.
void truncated_normal(torch::Tensor& weight, double std);

// While one is alive on this thread, the two initialisers above do nothing: for networks whose
// weights are loaded right after they are built (the truncated normal of ERNIE base alone
// takes seconds).
class SkipInitialisation {
 public:
  SkipInitialisation();
  ~SkipInitialisation();
  SkipInitialisation(const SkipInitialisation&) = delete;
  SkipInitialisation& operator=(const SkipInitialisation&) = delete;

 private:
  bool previous_;
};

}  // namespace mvtag
