// Finite-difference gradient check for the network's custom pieces (run in double).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace mvtag::test {

// Compares autograd's gradient of the scalar f() w.r.t. each of `inputs` (double tensors that
// require grad) with central differences, element by element.
inline ::testing::AssertionResult gradients_match(const std::function<torch::Tensor()>& f,
                                                  const std::vector<torch::Tensor>& inputs, double step = 1e-6,
                                                  double tolerance = 1e-6) {
  const auto analytic = torch::autograd::grad({f()}, inputs);
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    auto flat = inputs[k].detach().view({-1});  // shares storage with the input
    const auto grad = analytic[k].reshape({-1});
    for (std::int64_t i = 0; i < flat.numel(); ++i) {
      const double saved = flat[i].item<double>();
      double up, down;
      {
        torch::NoGradGuard no_grad;
        flat[i] = saved + step;
        up = f().item<double>();
        flat[i] = saved - step;
        down = f().item<double>();
        flat[i] = saved;
      }
      const double numeric = (up - down) / (2 * step);
      const double a = grad[i].item<double>();
      if (std::abs(a - numeric) > tolerance * std::max(1.0, std::abs(numeric))) {
        return ::testing::AssertionFailure() << "input " << k << " element " << i << ": autograd " << a
                                             << ", finite difference " << numeric;
      }
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace mvtag::test
