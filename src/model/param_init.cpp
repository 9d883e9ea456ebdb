#include "mvtag/param_init.h"

#include <cmath>

#include <torch/torch.h>

namespace mvtag {

void xavier_uniform(torch::Tensor& weight, std::int64_t fan_in, std::int64_t fan_out) {
  torch::NoGradGuard no_grad;
  const double bound = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  weight.uniform_(-bound, bound);
}

void truncated_normal(torch::Tensor& weight, double std) {
  torch::NoGradGuard no_grad;
  // erf(2 / sqrt(2)): the uniform range whose erfinv lands within ±2 standard deviations.
  const double edge = std::erf(std::sqrt(2.0));
  weight.uniform_(-edge, edge).erfinv_().mul_(std::sqrt(2.0) * std).clamp_(-2.0 * std, 2.0 * std);
}

}  // namespace mvtag
