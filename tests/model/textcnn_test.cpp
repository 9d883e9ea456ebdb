#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "device_test.h"
#include "model/golden.h"
#include "model/gradcheck.h"
#include "mvtag/model/textcnn.h"

using namespace mvtag;
using mvtag::test::close;

namespace {

// D = 1, F = 1; every conv reads a single window offset `tap` with weight `w`, bias 0.
TextCnn probe(std::int64_t window, std::int64_t tap, double w) {
  TextCnn cnn(1, 1);
  torch::NoGradGuard no_grad;
  for (auto* conv : {&cnn->conv2, &cnn->conv3, &cnn->conv4}) {
    (*conv)->weight.zero_();
    (*conv)->bias.zero_();
  }
  torch::nn::Conv1d& conv = window == 2 ? cnn->conv2 : window == 3 ? cnn->conv3 : cnn->conv4;
  conv->weight[0][0][tap] = w;
  return cnn;
}

// Two titles: [1, −2, 3] (3 tokens) and [−2] (1 token); padding holds junk (100).
torch::Tensor titles() { return torch::tensor({1.0, -2.0, 3.0, -2.0, 100.0, 100.0}).view({2, 3, 1}); }
torch::Tensor title_lengths() { return torch::tensor({3, 1}, torch::kInt64); }

// The pooled value of window k for both titles, computed on `device`.
torch::Tensor pooled(TextCnn cnn, std::int64_t window, const torch::Device& device) {
  cnn->to(device);
  const auto out = cnn->forward(titles().to(device), title_lengths().to(device));  // [2, 3]: k = 2, 3, 4
  return out.select(1, window - 2);
}

class TextCnnOnDevice : public mvtag::test::DeviceTest {};

}  // namespace

TEST_P(TextCnnOnDevice, WindowOffsetsFollowPaddlesPaddingStart) {
  const torch::Device device = GetParam();
  // k=2 covers t−1..t: tap 0 reads t−1 → rows [0, 1, −2] for title 0, [0] for title 1.
  EXPECT_TRUE(close(pooled(probe(2, 0, 1.0), 2, device), torch::tensor({std::tanh(1.0), 0.0}), 1e-7));
  // k=2 tap 1 reads t → max tanh(3); the 1-token title's only row is −2 (padding is not pooled).
  EXPECT_TRUE(close(pooled(probe(2, 1, 1.0), 2, device), torch::tensor({std::tanh(3.0), std::tanh(-2.0)}), 1e-7));
  // k=3 covers t−1..t+1: tap 2 reads t+1 → rows [−2, 3, 0]: zero past the end, never the junk.
  EXPECT_TRUE(close(pooled(probe(3, 2, 1.0), 3, device), torch::tensor({std::tanh(3.0), 0.0}), 1e-7));
  // k=4 covers t−2..t+1: tap 0 reads t−2 → rows [0, 0, 1].
  EXPECT_TRUE(close(pooled(probe(4, 0, 1.0), 4, device), torch::tensor({std::tanh(1.0), 0.0}), 1e-7));
  // k=4 tap 3 reads t+1 with weight −1 → rows [2, −3, 0].
  EXPECT_TRUE(close(pooled(probe(4, 3, -1.0), 4, device), torch::tensor({std::tanh(2.0), 0.0}), 1e-7));
}

TEST_P(TextCnnOnDevice, BiasIsAddedBeforeTanh) {
  const torch::Device device = GetParam();
  auto cnn = probe(3, 1, 0.5);
  {
    torch::NoGradGuard no_grad;
    cnn->conv3->bias.fill_(0.25);
  }
  // rows 0.5·[1, −2, 3] + 0.25 → max tanh(1.75); title 1: tanh(−0.75).
  EXPECT_TRUE(close(pooled(cnn, 3, device), torch::tensor({std::tanh(1.75), std::tanh(-0.75)}), 1e-7));
}

TEST(TextCnn, InitIsXavierOnPaddlesFilterShape) {
  torch::manual_seed(1);
  TextCnn cnn(768, 256);
  // Paddle's filter is [k·768, 256]: bound sqrt(6 / (k·768 + 256)), not torch's conv fans.
  const std::pair<torch::nn::Conv1d*, int> convs[] = {{&cnn->conv2, 2}, {&cnn->conv3, 3}, {&cnn->conv4, 4}};
  for (const auto& [conv, k] : convs) {
    const double bound = std::sqrt(6.0 / (k * 768 + 256));
    EXPECT_EQ((*conv)->weight.sizes(), (std::vector<std::int64_t>{256, 768, k}));
    EXPECT_LE((*conv)->weight.abs().max().item<double>(), bound);
    EXPECT_GT((*conv)->weight.abs().max().item<double>(), 0.99 * bound);
    EXPECT_EQ((*conv)->bias.abs().sum().item<double>(), 0.0);
  }
}

TEST_P(TextCnnOnDevice, GradientsMatchFiniteDifferences) {
  const torch::Device device = GetParam();
  torch::manual_seed(2);
  TextCnn cnn(3, 2);
  cnn->to(device, torch::kFloat64);
  const auto x = torch::randn({2, 4, 3}, torch::kFloat64).to(device).requires_grad_(true);
  const auto lengths = torch::tensor({4, 2}, torch::kInt64).to(device);
  const auto probe_weights = torch::randn({2, 6}, torch::kFloat64).to(device);
  const auto f = [&] { return (cnn(x, lengths) * probe_weights).sum(); };
  EXPECT_TRUE(mvtag::test::gradients_match(
      f, {x, cnn->conv2->weight, cnn->conv3->weight, cnn->conv4->weight, cnn->conv2->bias, cnn->conv4->bias}));
}

MVTAG_INSTANTIATE_DEVICE_TESTS(TextCnnOnDevice);
