#include <gtest/gtest.h>
#include <torch/torch.h>

#include "device_test.h"
#include "model/golden.h"
#include "model/gradcheck.h"
#include "mvtag/model/peephole_lstm.h"

using namespace mvtag;
using mvtag::test::close;

namespace {

// H = 1. Paddle's weight [1, 4] = [0.5, −0.25, 0.75, 1.0] in gate order [c̃, i, f, o];
// gate bias [0.1, 0.2, −0.3, 0.0]; peepholes w_ic 0.5, w_fc −0.5, w_oc 2.0.
PeepholeLstm hand_lstm(bool reverse) {
  PeepholeLstm lstm(1, reverse);
  lstm->to(torch::kFloat64);
  torch::NoGradGuard no_grad;
  lstm->weight_hh.copy_(torch::tensor({0.5, -0.25, 0.75, 1.0}).view({4, 1}));
  lstm->bias.copy_(torch::tensor({0.1, 0.2, -0.3, 0.0}));
  lstm->peephole.copy_(torch::tensor({0.5, -0.5, 2.0}));
  return lstm;
}

// Two steps of projected input G0 = [1, 0, 0.5, −1], G1 = [−0.5, 1, 0, 0.5].
torch::Tensor hand_input() {
  return torch::tensor({1.0, 0.0, 0.5, -1.0, -0.5, 1.0, 0.0, 0.5}, torch::kFloat64).view({1, 2, 4});
}

class PeepholeLstmOnDevice : public mvtag::test::DeviceTest {};

}  // namespace

TEST_P(PeepholeLstmOnDevice, HandComputedForward) {
  const torch::Device device = GetParam();
  // t=0: h = c = 0, a = G0 + b = [1.1, 0.2, 0.2, −1.0]
  //   c̃ = tanh(1.1) = 0.800499022, i = f = σ(0.2) = 0.549833997
  //   c0 = c̃·i = 0.440141577, o = σ(−1 + 2·c0) = σ(−0.119716846) = 0.470106483   (new cell)
  //   h0 = o·tanh(c0) = 0.194512099
  // t=1: a = G1 + b + W·h0 = [−0.302743950, 1.151371975, −0.154115926, 0.694512099]
  //   c̃ = −0.293821691, i = σ(1.151371975 + 0.5·c0) = 0.797613154,
  //   f = σ(−0.154115926 − 0.5·c0) = 0.407529753
  //   c1 = c̃·i + c0·f = −0.054985258, o = σ(0.694512099 + 2·c1) = 0.642111754
  //   h1 = o·tanh(c1) = −0.035271141
  auto lstm = hand_lstm(false);
  lstm->to(device);
  const auto out = lstm(hand_input().to(device), torch::tensor({2}, torch::kInt64).to(device));
  EXPECT_TRUE(close(out, torch::tensor({0.194512099, -0.035271141}).view({1, 2, 1}), 1e-7));
}

TEST_P(PeepholeLstmOnDevice, HandComputedReverse) {
  const torch::Device device = GetParam();
  // Step 1 first, from a zero state: a = G1 + b = [−0.4, 1.2, −0.3, 0.5]
  //   c̃ = −0.379948962, i = σ(1.2) = 0.768524783, f = σ(−0.3) = 0.425557483
  //   c = −0.292000194, o = σ(0.5 + 2c) = 0.479012242, h1 = −0.136027382
  // Then step 0: a = G0 + b + W·h1 = [1.031986309, 0.234006845, 0.097979464, −1.136027382]
  //   c̃ = 0.774703757, i = σ(a_i + 0.5c) = 0.521987498, f = σ(a_f − 0.5c) = 0.560694115
  //   c = 0.240662885, o = σ(a_o + 2c) = 0.341930823, h0 = 0.080737313
  auto lstm = hand_lstm(true);
  lstm->to(device);
  const auto out = lstm(hand_input().to(device), torch::tensor({2}, torch::kInt64).to(device));
  EXPECT_TRUE(close(out, torch::tensor({0.080737313, -0.136027382}).view({1, 2, 1}), 1e-7));
}

TEST_P(PeepholeLstmOnDevice, EachSequenceRunsOverItsOwnStepsOnly) {
  const torch::Device device = GetParam();
  torch::manual_seed(3);
  for (bool reverse : {false, true}) {
    SCOPED_TRACE(reverse ? "reverse" : "forward");
    PeepholeLstm lstm(3, reverse);
    torch::NoGradGuard no_grad;
    lstm->bias.normal_();
    lstm->peephole.normal_();
    auto x = torch::randn({3, 5, 12});
    const auto lengths = torch::tensor({5, 2, 1}, torch::kInt64);
    // Junk after each sequence's end must change nothing.
    x[1].narrow(0, 2, 3).fill_(50.0);
    x[2].narrow(0, 1, 4).fill_(-50.0);
    lstm->to(device);
    x = x.to(device);
    const auto out = lstm(x, lengths.to(device));
    for (std::int64_t b = 0; b < 3; ++b) {
      const auto n = lengths[b].item<std::int64_t>();
      const auto alone = lstm(x[b].narrow(0, 0, n).unsqueeze(0), lengths[b].view({1}).to(device));
      EXPECT_TRUE(close(out[b].narrow(0, 0, n), alone[0], 1e-6)) << "sample " << b;
      EXPECT_EQ(out[b].narrow(0, n, 5 - n).abs().sum().item<float>(), 0.0f) << "padding must be 0";
    }
  }
}

TEST_P(PeepholeLstmOnDevice, ReverseIsForwardOnTheReversedSequence) {
  const torch::Device device = GetParam();
  torch::manual_seed(4);
  PeepholeLstm fwd(2, false), bwd(2, true);
  torch::NoGradGuard no_grad;
  for (auto* p : {&fwd, &bwd}) (*p)->peephole.normal_();
  bwd->weight_hh.copy_(fwd->weight_hh);
  bwd->peephole.copy_(fwd->peephole);
  fwd->to(device);
  bwd->to(device);
  const auto x = torch::randn({1, 4, 8}).to(device);
  const auto len = torch::tensor({4}, torch::kInt64).to(device);
  EXPECT_TRUE(close(bwd(x, len), fwd(x.flip(1), len).flip(1), 1e-6));
}

TEST(PeepholeLstm, InitIsXavierOnPaddlesShapeWithZeroBiases) {
  torch::manual_seed(5);
  PeepholeLstm lstm(64, false);
  const double bound = std::sqrt(6.0 / (64 + 256));
  EXPECT_EQ(lstm->weight_hh.sizes(), (std::vector<std::int64_t>{256, 64}));
  EXPECT_LE(lstm->weight_hh.abs().max().item<double>(), bound);
  EXPECT_GT(lstm->weight_hh.abs().max().item<double>(), 0.95 * bound);
  EXPECT_EQ(lstm->bias.abs().sum().item<double>(), 0.0);
  EXPECT_EQ(lstm->peephole.sizes(), (std::vector<std::int64_t>{192}));
  EXPECT_EQ(lstm->peephole.abs().sum().item<double>(), 0.0);
}

TEST_P(PeepholeLstmOnDevice, GradientsMatchFiniteDifferences) {
  const torch::Device device = GetParam();
  torch::manual_seed(6);
  for (bool reverse : {false, true}) {
    SCOPED_TRACE(reverse ? "reverse" : "forward");
    PeepholeLstm lstm(2, reverse);
    lstm->to(torch::kFloat64);
    {
      torch::NoGradGuard no_grad;
      lstm->bias.normal_(0, 0.5);
      lstm->peephole.normal_(0, 0.5);
    }
    lstm->to(device);
    const auto x = torch::randn({2, 3, 8}, torch::kFloat64).to(device).requires_grad_(true);
    const auto lengths = torch::tensor({3, 2}, torch::kInt64).to(device);
    const auto probe = torch::randn({2, 3, 2}, torch::kFloat64).to(device);
    const auto f = [&] { return (lstm(x, lengths) * probe).sum(); };
    EXPECT_TRUE(mvtag::test::gradients_match(f, {x, lstm->weight_hh, lstm->bias, lstm->peephole}));
  }
}

MVTAG_INSTANTIATE_DEVICE_TESTS(PeepholeLstmOnDevice);
