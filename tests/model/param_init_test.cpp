#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mvtag/model/param_init.h"

using namespace mvtag;

TEST(ParamInit, XavierUniformStaysWithinItsBound) {
  torch::manual_seed(1);
  auto w = torch::zeros({40, 60});
  xavier_uniform(w, 60, 40);
  const double bound = std::sqrt(6.0 / 100.0);
  EXPECT_LE(w.abs().max().item<double>(), bound);
  EXPECT_GT(w.abs().max().item<double>(), 0.9 * bound);
}

TEST(ParamInit, TruncatedNormalHasNothingBeyondTwoStd) {
  torch::manual_seed(2);
  auto w = torch::zeros({200, 50});
  truncated_normal(w, 0.02);
  EXPECT_LE(w.abs().max().item<double>(), 0.04);
  EXPECT_NEAR(w.std().item<double>(), 0.02 * 0.88, 0.002);  // a ±2σ truncated normal has σ ≈ 0.88·std
}

TEST(ParamInit, SkipInitialisationLeavesTensorsAloneUntilItEnds) {
  auto w = torch::full({3, 3}, 7.0f);
  {
    SkipInitialisation skip;
    xavier_uniform(w, 3, 3);
    truncated_normal(w, 0.02);
    EXPECT_TRUE(torch::equal(w, torch::full({3, 3}, 7.0f)));
  }
  truncated_normal(w, 0.02);
  EXPECT_LE(w.abs().max().item<double>(), 0.04);
}
