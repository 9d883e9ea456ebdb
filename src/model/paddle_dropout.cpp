#include "mvtag/model/paddle_dropout.h"

#include <torch/torch.h>

namespace mvtag {

torch::Tensor paddle_dropout(const torch::Tensor& x, double p, bool training) {
  if (p == 0.0) return x;
  if (!training) return x * (1.0 - p);
  const auto keep = torch::empty_like(x).bernoulli_(1.0 - p);
  return x * keep;
}

}  // namespace mvtag
