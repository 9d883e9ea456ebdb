#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "device_test.h"
#include "mvtag/core/base/error.h"
#include "mvtag/train/optimizer.h"
#include "test_util.h"

using namespace mvtag;

namespace {

torch::Tensor from_vec(const std::vector<double>& v, const torch::Device& device = torch::kCPU) {
  return torch::tensor(v, torch::dtype(torch::kFloat64)).to(device);
}

nlohmann::json load_goldens() {
  std::ifstream in(MVTAG_FIXTURES "/optimizer/rmsprop.json");
  return nlohmann::json::parse(in);
}

// The optimizer steps on the device its parameters are on.
class PaddleRmspropOnDevice : public mvtag::test::DeviceTest {};

}  // namespace

TEST_P(PaddleRmspropOnDevice, OneCenteredStepByHand) {
  const torch::Device device = GetParam();
  // w = 1, grad = 0.5, decay 0.1 -> g = 0.6; ms = 0.05 * 0.36 = 0.018; mg = 0.05 * 0.6 = 0.03;
  // denom = sqrt(0.018 - 0.0009 + 1e-6) = sqrt(0.017101); w = 1 - 0.1 * 0.6 / denom.
  auto w = torch::ones({1}, torch::dtype(torch::kFloat64)).to(device).requires_grad_();
  w.mutable_grad() = torch::full({1}, 0.5, torch::kFloat64).to(device);
  RmspropOptions o;
  o.weight_decay = 0.1;
  PaddleRmsprop opt({{"w", w}}, o);
  opt.step(0.1);
  EXPECT_NEAR(w.item<double>(), 1.0 - 0.1 * 0.6 / std::sqrt(0.017101), 1e-12);
}

TEST_P(PaddleRmspropOnDevice, MatchesTheNumpyReference) {
  const torch::Device device = GetParam();
  const auto goldens = load_goldens();
  for (const auto& run : goldens["runs"]) {
    auto w = from_vec(run["initial"]["w"].get<std::vector<double>>(), device).requires_grad_();
    auto b = from_vec(run["initial"]["b"].get<std::vector<double>>(), device).requires_grad_();
    RmspropOptions o;
    o.rho = goldens["rho"];
    o.epsilon = goldens["epsilon"];
    o.weight_decay = goldens["weight_decay"];
    o.momentum = run["momentum"];
    o.centered = run["centered"];
    PaddleRmsprop opt({{"w", w}, {"b", b}}, o, {"b"});
    for (const auto& step : run["steps"]) {
      w.mutable_grad() = from_vec(step["grads"]["w"].get<std::vector<double>>(), device);
      b.mutable_grad() = from_vec(step["grads"]["b"].get<std::vector<double>>(), device);
      opt.step(step["lr"].get<double>());
      const auto want_w = from_vec(step["after"]["w"].get<std::vector<double>>());
      const auto want_b = from_vec(step["after"]["b"].get<std::vector<double>>());
      EXPECT_TRUE(torch::allclose(w.detach().cpu(), want_w, 1e-10, 1e-12)) << run["momentum"] << " " << w;
      EXPECT_TRUE(torch::allclose(b.detach().cpu(), want_b, 1e-10, 1e-12)) << run["momentum"] << " " << b;
    }
  }
}

TEST_P(PaddleRmspropOnDevice, SkipsParametersWithoutGradient) {
  const torch::Device device = GetParam();
  auto w = torch::ones({2}).to(device).requires_grad_();
  PaddleRmsprop opt({{"w", w}}, RmspropOptions{});
  opt.step(0.1);
  EXPECT_TRUE(torch::equal(w.detach().cpu(), torch::ones({2})));
}

TEST_P(PaddleRmspropOnDevice, StateRoundTripContinuesIdentically) {
  const torch::Device device = GetParam();
  auto make = [&] { return torch::arange(4, torch::kFloat64).to(device).requires_grad_(); };
  auto grad = torch::tensor({0.3, -0.2, 0.1, 0.5}, torch::kFloat64).to(device);
  auto a = make();
  PaddleRmsprop opt_a({{"p", a}}, RmspropOptions{});
  a.mutable_grad() = grad.clone();
  opt_a.step(0.01);

  auto b = a.detach().clone().requires_grad_();
  PaddleRmsprop opt_b({{"p", b}}, RmspropOptions{});
  std::map<std::string, torch::Tensor> saved;
  for (auto& [name, t] : opt_a.state()) saved[name] = t.clone();
  opt_b.load_state(saved);

  a.mutable_grad() = grad.clone();
  b.mutable_grad() = grad.clone();
  opt_a.step(0.01);
  opt_b.step(0.01);
  EXPECT_TRUE(torch::equal(a.detach().cpu(), b.detach().cpu()));
}

TEST_P(PaddleRmspropOnDevice, LoadStateNamesTheBadTensor) {
  const torch::Device device = GetParam();
  auto p = torch::zeros({3}).to(device).requires_grad_();
  PaddleRmsprop opt({{"fc.weight", p}}, RmspropOptions{});
  std::map<std::string, torch::Tensor> state;
  for (auto& [name, t] : opt.state()) state[name] = t.clone();
  state["fc.weight/moment"] = torch::zeros({4}).to(device);
  mvtag::test::expect_message_contains(mvtag::test::thrown_error([&] { opt.load_state(state); }),
                                       {"fc.weight/moment", "[4]"});
  state.erase("fc.weight/moment");
  EXPECT_THROW(opt.load_state(state), Error);
}

TEST(PaddleRmsprop, UnknownExemptNameIsAnError) {
  auto p = torch::zeros({1}).requires_grad_();
  EXPECT_THROW(PaddleRmsprop({{"a", p}}, RmspropOptions{}, {"typo"}), Error);
}

MVTAG_INSTANTIATE_DEVICE_TESTS(PaddleRmspropOnDevice);
