#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "device_test.h"
#include "model/golden.h"
#include "model/gradcheck.h"
#include "mvtag/model/attention_pool.h"

using namespace mvtag;
using mvtag::test::close;

namespace {
class AttentionPoolOnDevice : public mvtag::test::DeviceTest {};
}  // namespace

TEST_P(AttentionPoolOnDevice, SelfAttentionByHand) {
  const torch::Device device = GetParam();
  AttentionPool pool(2, 5, /*text_guided=*/false);
  EXPECT_FALSE(pool->text_guided());
  EXPECT_EQ(pool->named_parameters().size(), 2u);
  {
    torch::NoGradGuard no_grad;
    pool->score_fc->weight.copy_(torch::tensor({{1.0, 0.0}}));
    pool->score_fc->bias.fill_(0.5);
  }
  pool->to(device);
  // Steps [0, 1] and [ln 2, 0], then a padded step: scores 0.5 and ln 2 + 0.5, so α = [1/3, 2/3]
  // and v = [2·ln 2 / 3, 1/3]. The padded step gets α = 0 whatever it holds.
  const auto seq = torch::tensor({0.0, 1.0, std::log(2.0), 0.0, 100.0, 100.0}).view({1, 3, 2}).to(device, torch::kFloat32);
  const auto len = torch::tensor({2}, torch::kInt64).to(device);
  const auto text = torch::zeros({1, 5}).to(device);
  EXPECT_TRUE(close(pool->weights(seq, len, text), torch::tensor({{1.0 / 3, 2.0 / 3, 0.0}}), 1e-6));
  EXPECT_TRUE(close(pool(seq, len, text), torch::tensor({{2 * std::log(2.0) / 3, 1.0 / 3}}), 1e-6));
}

TEST_P(AttentionPoolOnDevice, TextGuidedByHand) {
  const torch::Device device = GetParam();
  AttentionPool pool(1, 1, /*text_guided=*/true);
  {
    torch::NoGradGuard no_grad;
    pool->tanh_fc->weight.copy_(torch::tensor({{1.0, 2.0}}));  // columns [S part | text part]
    pool->tanh_fc->bias.fill_(-0.5);
    pool->score_fc->weight.fill_(1.0);
    pool->score_fc->bias.fill_(0.0);
  }
  pool->to(device);
  // u = 0.25, S = [0.5, −0.5]: e = tanh(S + 2u − 0.5) = [tanh 0.5, tanh −0.5];
  // α = softmax(e) = [1, e^{−2·tanh 0.5}] / (1 + e^{−2·tanh 0.5}); v = Σ α_t·S_t.
  const double e0 = std::tanh(0.5), e1 = std::tanh(-0.5);
  const double a0 = std::exp(e0) / (std::exp(e0) + std::exp(e1)), a1 = 1 - a0;
  const auto seq = torch::tensor({0.5f, -0.5f}).view({1, 2, 1}).to(device);
  const auto len = torch::tensor({2}, torch::kInt64).to(device);
  const auto text = torch::tensor({{0.25f}}).to(device);
  EXPECT_TRUE(close(pool->weights(seq, len, text), torch::tensor({{a0, a1}}), 1e-6));
  EXPECT_TRUE(close(pool(seq, len, text), torch::tensor({{0.5 * a0 - 0.5 * a1}}), 1e-6));
}

TEST_P(AttentionPoolOnDevice, ALengthOneSequenceReturnsItsOnlyStep) {
  const torch::Device device = GetParam();
  torch::manual_seed(1);
  AttentionPool pool(4, 3, true);
  pool->to(device);
  const auto seq = torch::randn({2, 3, 4}).to(device);
  const auto out = pool(seq, torch::tensor({1, 3}, torch::kInt64).to(device), torch::randn({2, 3}).to(device));
  EXPECT_TRUE(close(out[0], seq[0][0], 1e-6));
}

TEST_P(AttentionPoolOnDevice, GradientsMatchFiniteDifferences) {
  const torch::Device device = GetParam();
  torch::manual_seed(2);
  for (bool guided : {true, false}) {
    SCOPED_TRACE(guided ? "text_guide" : "self");
    AttentionPool pool(3, 2, guided);
    pool->to(device, torch::kFloat64);
    const auto seq = torch::randn({2, 4, 3}, torch::kFloat64).to(device).requires_grad_(true);
    const auto text = torch::randn({2, 2}, torch::kFloat64).to(device).requires_grad_(true);
    const auto lengths = torch::tensor({4, 2}, torch::kInt64).to(device);
    const auto probe = torch::randn({2, 3}, torch::kFloat64).to(device);
    const auto f = [&] { return (pool(seq, lengths, text) * probe).sum(); };
    std::vector<torch::Tensor> inputs = {seq, pool->score_fc->weight};
    if (guided) {
      inputs.push_back(text);
      inputs.push_back(pool->tanh_fc->weight);
      inputs.push_back(pool->tanh_fc->bias);
    }
    EXPECT_TRUE(mvtag::test::gradients_match(f, inputs));
  }
}

MVTAG_INSTANTIATE_DEVICE_TESTS(AttentionPoolOnDevice);
