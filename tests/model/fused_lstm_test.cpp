// The fused peephole LSTM (peephole_lstm_fused) against the op-by-op reference
// (PeepholeLstmImpl::forward_gates_reference): outputs and gradients w.r.t. the gates, weight_hh
// and the peepholes, alone and inside the whole network, plus finite differences in float64.
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "device_test.h"
#include "model/golden.h"
#include "model/gradcheck.h"
#include "mvtag/model/model.h"
#include "mvtag/model/peephole_lstm.h"

using namespace mvtag;
using mvtag::test::close;

namespace {

struct Case {
  std::string name;
  std::int64_t steps;
  std::vector<std::int64_t> lengths;
};

// Batch 1 of one step, batch 1 full, varied lengths (with 1 and the maximum, not sorted), all
// equal, and all of length 1 in a longer padded batch.
const std::vector<Case>& cases() {
  static const std::vector<Case> c = {{"batch 1, one step", 1, {1}},
                                      {"batch 1", 5, {5}},
                                      {"varied", 6, {6, 1, 3, 6, 2}},
                                      {"all equal", 4, {4, 4, 4}},
                                      {"all length 1", 5, {1, 1, 1, 1}}};
  return c;
}

// A module with non-zero peepholes (the default zeros would hide a peephole bug), on `dtype`.
PeepholeLstm random_lstm(std::int64_t hidden, bool reverse, torch::Dtype dtype) {
  PeepholeLstm lstm(hidden, reverse);
  lstm->to(dtype);
  torch::NoGradGuard no_grad;
  lstm->weight_hh.normal_(0, 0.5);
  lstm->peephole.normal_(0, 0.5);
  return lstm;
}

struct Result {
  torch::Tensor output, d_gates, d_weight_hh, d_peephole;
};

// Output and the gradients of Σ output ⊙ probe (a random upstream gradient).
Result run(const std::function<torch::Tensor(const torch::Tensor&)>& lstm_of, const torch::Tensor& gates_in,
           const PeepholeLstm& lstm, const torch::Tensor& probe) {
  const auto gates = gates_in.detach().clone().requires_grad_(true);
  const auto out = lstm_of(gates);
  const auto grads = torch::autograd::grad({(out * probe).sum()}, {gates, lstm->weight_hh, lstm->peephole});
  return {out.detach(), grads[0], grads[1], grads[2]};
}

::testing::AssertionResult same(const Result& a, const Result& b, double rel) {
  const std::pair<const char*, std::pair<torch::Tensor, torch::Tensor>> parts[] = {
      {"output", {a.output, b.output}},
      {"d gates", {a.d_gates, b.d_gates}},
      {"d weight_hh", {a.d_weight_hh, b.d_weight_hh}},
      {"d peephole", {a.d_peephole, b.d_peephole}}};
  for (const auto& [what, pair] : parts) {
    const auto r = close(pair.first, pair.second, rel);
    if (!r) return ::testing::AssertionFailure() << what << ": " << r.message();
  }
  return ::testing::AssertionSuccess();
}

void compare_with_reference(torch::Dtype dtype, std::int64_t hidden, double rel) {
  torch::manual_seed(21);
  for (bool reverse : {false, true}) {
    for (const auto& c : cases()) {
      SCOPED_TRACE(c.name + (reverse ? ", reverse" : ", forward"));
      const auto batch = static_cast<std::int64_t>(c.lengths.size());
      auto lstm = random_lstm(hidden, reverse, dtype);
      const auto lengths = torch::tensor(c.lengths, torch::kInt64);
      const auto gates = torch::randn({batch, c.steps, 4 * hidden}, dtype);
      const auto probe = torch::randn({batch, c.steps, hidden}, dtype);
      const auto fused = run([&](const torch::Tensor& g) {
        return peephole_lstm_fused(g, lstm->weight_hh, lstm->peephole, lengths, reverse);
      }, gates, lstm, probe);
      const auto reference =
          run([&](const torch::Tensor& g) { return lstm->forward_gates_reference(g, lengths); }, gates, lstm, probe);
      EXPECT_TRUE(same(fused, reference, rel));
      // Nothing is read from, or flows into, padding.
      const auto padded = torch::arange(c.steps).unsqueeze(0) >= lengths.unsqueeze(1);  // [B, T]
      EXPECT_EQ(fused.output.masked_select(padded.unsqueeze(2)).abs().sum().item<double>(), 0.0);
      EXPECT_EQ(fused.d_gates.masked_select(padded.unsqueeze(2)).abs().sum().item<double>(), 0.0);
    }
  }
}

class FusedLstmOnDevice : public mvtag::test::DeviceTest {};

}  // namespace

TEST(FusedLstm, MatchesTheReferenceInFloat32) { compare_with_reference(torch::kFloat32, 8, 1e-5); }

TEST(FusedLstm, MatchesTheReferenceInFloat64) { compare_with_reference(torch::kFloat64, 5, 1e-12); }

TEST(FusedLstm, MatchesTheReferenceAtAWideHiddenSize) {
  // H = 200: rows long enough for the vectorised loops' main bodies, B·4H above the parallel grain.
  torch::manual_seed(22);
  for (bool reverse : {false, true}) {
    SCOPED_TRACE(reverse ? "reverse" : "forward");
    auto lstm = random_lstm(200, reverse, torch::kFloat32);
    {
      torch::NoGradGuard no_grad;
      lstm->weight_hh.mul_(0.2);
    }
    const auto lengths = torch::tensor({7, 3, 7, 1, 5, 7, 2, 6, 7, 4, 7, 7, 1, 7, 3, 7, 7, 7, 5, 7, 6, 2, 7, 7},
                                       torch::kInt64);
    const auto gates = torch::randn({24, 7, 800}) * 2.0;
    const auto probe = torch::randn({24, 7, 200});
    const auto fused = run([&](const torch::Tensor& g) {
      return peephole_lstm_fused(g, lstm->weight_hh, lstm->peephole, lengths, reverse);
    }, gates, lstm, probe);
    const auto reference =
        run([&](const torch::Tensor& g) { return lstm->forward_gates_reference(g, lengths); }, gates, lstm, probe);
    EXPECT_TRUE(same(fused, reference, 1e-5));
  }
}

TEST(FusedLstm, ModuleTakesTheFusedPathOnTheCpuUnlessTold) {
  torch::manual_seed(23);
  auto lstm = random_lstm(4, false, torch::kFloat32);
  const auto gates = torch::randn({2, 3, 16});
  const auto lengths = torch::tensor({3, 2}, torch::kInt64);
  const auto out = lstm->forward_gates(gates, lengths);
  ASSERT_TRUE(out.grad_fn());
  EXPECT_NE(out.grad_fn()->name().find("FusedPeepholeLstm"), std::string::npos) << out.grad_fn()->name();
  EXPECT_TRUE(torch::equal(out, peephole_lstm_fused(gates, lstm->weight_hh, lstm->peephole, lengths, false)));
  lstm->set_fused(false);
  const auto reference = lstm->forward_gates(gates, lengths);
  EXPECT_EQ(reference.grad_fn()->name().find("FusedPeepholeLstm"), std::string::npos) << reference.grad_fn()->name();
  EXPECT_TRUE(close(out, reference, 1e-5));
}

TEST(FusedLstm, WithoutGradItRecordsNothingAndComputesTheSame) {
  torch::manual_seed(24);
  for (bool reverse : {false, true}) {
    SCOPED_TRACE(reverse ? "reverse" : "forward");
    auto lstm = random_lstm(6, reverse, torch::kFloat32);
    const auto gates = torch::randn({3, 5, 24});
    const auto lengths = torch::tensor({5, 2, 4}, torch::kInt64);
    const auto with_grad = peephole_lstm_fused(gates, lstm->weight_hh, lstm->peephole, lengths, reverse);
    ASSERT_TRUE(with_grad.requires_grad());
    torch::Tensor without;
    {
      torch::NoGradGuard no_grad;
      without = peephole_lstm_fused(gates, lstm->weight_hh, lstm->peephole, lengths, reverse);
    }
    EXPECT_FALSE(without.requires_grad());
    EXPECT_FALSE(without.grad_fn());
    EXPECT_TRUE(torch::equal(without, with_grad.detach()));
  }
}

TEST(FusedLstm, GradientsMatchFiniteDifferences) {
  torch::manual_seed(25);
  for (bool reverse : {false, true}) {
    SCOPED_TRACE(reverse ? "reverse" : "forward");
    auto lstm = random_lstm(2, reverse, torch::kFloat64);
    const auto gates = torch::randn({3, 4, 8}, torch::kFloat64).requires_grad_(true);
    const auto lengths = torch::tensor({4, 1, 3}, torch::kInt64);
    const auto probe = torch::randn({3, 4, 2}, torch::kFloat64);
    const auto f = [&] {
      return (peephole_lstm_fused(gates, lstm->weight_hh, lstm->peephole, lengths, reverse) * probe).sum();
    };
    EXPECT_TRUE(mvtag::test::gradients_match(f, {gates, lstm->weight_hh, lstm->peephole}));
  }
}

TEST(FusedLstm, RejectsWhatItCannotRun) {
  auto lstm = random_lstm(2, false, torch::kFloat32);
  const auto lengths = torch::tensor({2}, torch::kInt64);
  EXPECT_FALSE(fused_lstm_supported(torch::zeros({1, 2, 8}, torch::kFloat64), lstm->weight_hh, lstm->peephole));
  EXPECT_FALSE(fused_lstm_supported(torch::zeros({1, 2, 8}, torch::kFloat16), lstm->weight_hh, lstm->peephole));
  EXPECT_TRUE(fused_lstm_supported(torch::zeros({1, 2, 8}), lstm->weight_hh, lstm->peephole));
  EXPECT_THROW(peephole_lstm_fused(torch::zeros({1, 2, 8}, torch::kFloat64), lstm->weight_hh, lstm->peephole,
                                   lengths, false),
               c10::Error);
  EXPECT_THROW(peephole_lstm_fused(torch::zeros({1, 2, 12}), lstm->weight_hh, lstm->peephole, lengths, false),
               c10::Error);
}

// The module on any device (CUDA: the reference path) against the fused path on the CPU.
TEST_P(FusedLstmOnDevice, ModuleOnDeviceMatchesTheFusedCpuPath) {
  const torch::Device device = GetParam();
  torch::manual_seed(26);
  for (bool reverse : {false, true}) {
    SCOPED_TRACE(reverse ? "reverse" : "forward");
    auto lstm = random_lstm(5, reverse, torch::kFloat32);
    const auto lengths = torch::tensor({4, 1, 3}, torch::kInt64);
    const auto gates = torch::randn({3, 4, 20});
    const auto probe = torch::randn({3, 4, 5});
    const auto fused = run([&](const torch::Tensor& g) {
      return peephole_lstm_fused(g, lstm->weight_hh, lstm->peephole, lengths, reverse);
    }, gates, lstm, probe);
    lstm->to(device);
    const auto on_device = run([&](const torch::Tensor& g) { return lstm->forward_gates(g, lengths.to(device)); },
                               gates.to(device), lstm, probe.to(device));
    EXPECT_TRUE(same(on_device, fused, 1e-5));
  }
}

MVTAG_INSTANTIATE_DEVICE_TESTS(FusedLstmOnDevice);

namespace {

void set_fused(VideoTagNet& net, bool fused) {
  int n = 0;
  for (const auto& m : net->modules()) {
    if (auto lstm = std::dynamic_pointer_cast<PeepholeLstmImpl>(m)) {
      lstm->set_fused(fused);
      ++n;
    }
  }
  ASSERT_EQ(n, 4);  // image and audio, forwards and backwards
}

}  // namespace

// The whole network (golden "a": varied frame counts), in training mode with its dropouts (the
// same seed before each run draws the same masks), fused against op-by-op: logits and the
// gradient of every parameter.
TEST(FusedLstm, WholeNetworkGradientsMatchTheReference) {
  const mvtag::test::Golden g("a");
  auto net = g.net(/*freeze=*/false);
  net->train();
  const auto input = g.input();
  torch::manual_seed(27);
  const auto probe = torch::randn_like(net->forward(input).detach());
  const auto run_net = [&](bool fused) {
    set_fused(net, fused);
    net->zero_grad();
    torch::manual_seed(28);
    const auto logits = net->forward(input);
    (net->loss(logits, g.get("labels")) + (logits * probe).sum()).backward();
    std::vector<std::pair<std::string, torch::Tensor>> out = {{"logits", logits.detach()}};
    for (const auto& p : net->named_parameters()) {
      if (p.value().grad().defined()) out.emplace_back(p.key(), p.value().grad().clone());
    }
    return out;
  };
  const auto fused = run_net(true), reference = run_net(false);
  ASSERT_EQ(fused.size(), reference.size());
  ASSERT_GT(fused.size(), 10u);
  const auto ends_with = [](const std::string& s, const std::string& end) {
    return s.size() >= end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
  };
  int zero_in_exact_arithmetic = 0;
  for (std::size_t k = 0; k < fused.size(); ++k) {
    const auto& name = fused[k].first;
    ASSERT_EQ(name, reference[k].first);
    if (ends_with(name, "attention.key.bias") || ends_with(name, "attention.score_fc.bias")) {
      // A softmax ignores a shift of all its scores, so these biases' true gradient is 0 and
      // both runs hold only rounding noise (~1e-8): compare it with 0, not each other.
      ++zero_in_exact_arithmetic;
      EXPECT_LT(fused[k].second.abs().max().item<double>(), 1e-6) << name;
      EXPECT_LT(reference[k].second.abs().max().item<double>(), 1e-6) << name;
      continue;
    }
    EXPECT_TRUE(close(fused[k].second, reference[k].second, 1e-5)) << name;
  }
  EXPECT_EQ(zero_in_exact_arithmetic, 4);  // two ERNIE layers' key biases, two attention pools
  // The LSTMs' gradients are among them and not zero.
  int lstm_weights = 0;
  for (const auto& [name, grad] : fused) {
    if (name.find("_lstm.") != std::string::npos) {
      ++lstm_weights;
      EXPECT_GT(grad.abs().max().item<double>(), 0.0) << name;
    }
  }
  EXPECT_EQ(lstm_weights, 12);  // 4 LSTMs × weight_hh, bias, peephole
}
