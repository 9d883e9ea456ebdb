#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mvtag/model/paddle_dropout.h"

using namespace mvtag;

TEST(PaddleDropout, TrainingMasksWithoutRescaling) {
  torch::manual_seed(11);
  const auto x = torch::full({20000}, 3.0f);
  const auto y = paddle_dropout(x, 0.5, /*training=*/true);
  const auto kept = (y == 3.0f);
  const auto dropped = (y == 0.0f);
  EXPECT_TRUE(torch::logical_or(kept, dropped).all().item<bool>()) << "values are x or 0, never x/(1−p)";
  const double keep_rate = kept.to(torch::kFloat64).mean().item<double>();
  EXPECT_NEAR(keep_rate, 0.5, 0.02);
  const auto y2 = paddle_dropout(torch::full({20000}, 1.0f), 0.2, true);
  EXPECT_NEAR(y2.mean().item<double>(), 0.8, 0.02);
}

TEST(PaddleDropout, EvalScalesByKeepProbability) {
  const auto x = torch::tensor({1.0f, -2.0f, 4.0f});
  EXPECT_TRUE(torch::equal(paddle_dropout(x, 0.5, false), torch::tensor({0.5f, -1.0f, 2.0f})));
  EXPECT_TRUE(torch::allclose(paddle_dropout(x, 0.25, false), x * 0.75));
}

TEST(PaddleDropout, ZeroRateIsIdentity) {
  const auto x = torch::randn({5});
  EXPECT_TRUE(torch::equal(paddle_dropout(x, 0.0, true), x));
  EXPECT_TRUE(torch::equal(paddle_dropout(x, 0.0, false), x));
}

TEST(PaddleDropout, GradientIsTheMask) {
  torch::manual_seed(12);
  const auto x = torch::randn({1000}).requires_grad_(true);
  const auto y = paddle_dropout(x, 0.5, true);
  y.sum().backward();
  const auto mask = (y != 0).to(torch::kFloat32);
  EXPECT_TRUE(torch::equal(x.grad(), mask));
}
