#include "mvtag/model/param_init.h"

#include <cmath>

#include <torch/torch.h>

namespace mvtag {

namespace {
thread_local bool skip_initialisation = false;
}  // namespace

SkipInitialisation::SkipInitialisation() : previous_(skip_initialisation) { skip_initialisation = true; }
SkipInitialisation::~SkipInitialisation() { skip_initialisation = previous_; }

void xavier_uniform(torch::Tensor& weight, std::int64_t fan_in, std::int64_t fan_out) {
  if (skip_initialisation) return;
  torch::NoGradGuard no_grad;
  const double bound = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  weight.uniform_(-bound, bound);
}

torch::nn::Linear xavier_linear(std::int64_t in, std::int64_t out, bool bias) {
  torch::nn::Linear fc(torch::nn::LinearOptions(in, out).bias(bias));
  xavier_uniform(fc->weight, in, out);
  if (bias) {
    torch::NoGradGuard no_grad;
    fc->bias.zero_();
  }
  return fc;
}

void truncated_normal(torch::Tensor& weight, double std) {
  if (skip_initialisation) return;
  torch::NoGradGuard no_grad;
  // Rejection sampling: redraw the ~4.6% of values beyond ±2 std until none is left
  // (vectorised normal draws; much faster than an inverse-CDF erfinv on large tables).
  auto flat = weight.view({-1});
  flat.normal_(0.0, std);
  auto outside = flat.abs() > 2.0 * std;
  for (auto n = outside.sum().item<std::int64_t>(); n > 0; n = outside.sum().item<std::int64_t>()) {
    flat.masked_scatter_(outside, torch::empty({n}, flat.options()).normal_(0.0, std));
    outside = flat.abs() > 2.0 * std;
  }
}

}  // namespace mvtag
