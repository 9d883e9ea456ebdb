// The network against an independent reference (tools/make_model_goldens.py): Paddle-layout
// weights, one video at a time, mapped to our names through docs/FORMATS.md.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "device_test.h"
#include "model/golden.h"

using namespace mvtag;
using mvtag::test::close;
using mvtag::test::Golden;

namespace {

// Rows t < len[b] of a [B, T, D] tensor, one sample after the other.
torch::Tensor valid_rows(const torch::Tensor& x, const torch::Tensor& lengths) {
  std::vector<torch::Tensor> rows;
  for (std::int64_t b = 0; b < x.size(0); ++b) rows.push_back(x[b].narrow(0, 0, lengths[b].item<std::int64_t>()));
  return torch::cat(rows);
}

class ModelGoldenOnDevice : public mvtag::test::DeviceTest {};

}  // namespace

TEST_P(ModelGoldenOnDevice, ErnieOutputOnRealTokens) {
  const torch::Device device = GetParam();
  const Golden g("a");
  auto net = g.net(/*freeze=*/true, device);
  torch::NoGradGuard no_grad;
  const auto out = net->ernie(g.get("text_ids", device), g.get("text_len", device));
  EXPECT_TRUE(close(valid_rows(out, g.get("text_len", device)), valid_rows(g.get("ernie_out"), g.get("text_len", device))));
}

TEST_P(ModelGoldenOnDevice, TextCnnFeature) {
  const torch::Device device = GetParam();
  const Golden g("a");
  auto net = g.net(/*freeze=*/true, device);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(close(net->text_feature(g.get("text_ids", device), g.get("text_len", device)), g.get("text_feature")));
}

TEST_P(ModelGoldenOnDevice, EachLstmDirection) {
  const torch::Device device = GetParam();
  const Golden g("a");
  auto net = g.net(/*freeze=*/true, device);
  torch::NoGradGuard no_grad;
  const auto rgb = g.get("rgb", device), rgb_len = g.get("rgb_len", device), audio = g.get("audio", device), audio_len = g.get("audio_len", device);
  // The image forward projection has no bias, the backward one has; audio the other way round.
  EXPECT_TRUE(close(net->image->fwd_lstm(net->image->fwd_proj(rgb), rgb_len), g.get("image_fwd")));
  EXPECT_TRUE(close(net->image->bwd_lstm(net->image->bwd_proj(rgb), rgb_len), g.get("image_bwd")));
  EXPECT_TRUE(close(net->audio->fwd_lstm(net->audio->fwd_proj(audio), audio_len), g.get("audio_fwd")));
  EXPECT_TRUE(close(net->audio->bwd_lstm(net->audio->bwd_proj(audio), audio_len), g.get("audio_bwd")));
  const auto both = net->image->encode(rgb, rgb_len);
  EXPECT_TRUE(close(both, torch::cat({g.get("image_fwd"), g.get("image_bwd")}, 2)));
}

TEST_P(ModelGoldenOnDevice, AttentionPoolingInEval) {
  const torch::Device device = GetParam();
  for (const char* prefix : {"a", "b"}) {
    SCOPED_TRACE(prefix);
    const Golden g(prefix);
    auto net = g.net(/*freeze=*/true, device);
    torch::NoGradGuard no_grad;
    const auto text = g.get("text_feature", device).to(torch::kFloat32) * 0.5;  // eval-mode Paddle dropout
    EXPECT_TRUE(close(net->image(g.get("rgb", device), g.get("rgb_len", device), text, 0.5), g.get("image_pooled")));
    EXPECT_TRUE(close(net->audio(g.get("audio", device), g.get("audio_len", device), text, 0.5), g.get("audio_pooled")));
  }
}

TEST_P(ModelGoldenOnDevice, LogitsProbabilitiesAndLoss) {
  const torch::Device device = GetParam();
  for (const char* prefix : {"a", "b"}) {
    SCOPED_TRACE(prefix);
    const Golden g(prefix);
    auto net = g.net(/*freeze=*/true, device);
    torch::NoGradGuard no_grad;
    const auto logits = net->forward(g.input(device));
    EXPECT_TRUE(close(logits, g.get("logits")));
    EXPECT_TRUE(close(net->probabilities(logits), g.get("probabilities")));
    EXPECT_TRUE(close(net->loss(logits, g.get("labels", device)).reshape({1}), g.get("loss")));
  }
}

TEST_P(ModelGoldenOnDevice, GradientsWithErnieFrozen) {
  const torch::Device device = GetParam();
  for (const char* prefix : {"a", "b"}) {
    SCOPED_TRACE(prefix);
    const Golden g(prefix);
    auto net = g.net(/*freeze=*/true, device);
    net->loss(net->forward(g.input(device)), g.get("labels", device)).backward();
    const auto params = net->named_parameters();
    int checked = 0;
    for (const auto& t : g.io.tensors) {
      if (t.name.rfind("grad.", 0) != 0) continue;
      const std::string name = t.name.substr(5);
      const auto grad = params[name].grad();
      if (name.rfind("ernie.", 0) == 0) {
        EXPECT_FALSE(grad.defined()) << name;
      } else {
        ASSERT_TRUE(grad.defined()) << name;
        EXPECT_TRUE(close(grad, g.get(t.name))) << name;
        ++checked;
      }
    }
    EXPECT_GE(checked, 18);
    for (const auto& p : net->ernie->parameters()) EXPECT_FALSE(p.grad().defined());
  }
}

TEST_P(ModelGoldenOnDevice, GradientsWithErnieTrained) {
  const torch::Device device = GetParam();
  for (const char* prefix : {"a", "b"}) {
    SCOPED_TRACE(prefix);
    const Golden g(prefix);
    auto net = g.net(/*freeze=*/false, device);
    net->loss(net->forward(g.input(device)), g.get("labels", device)).backward();
    const auto params = net->named_parameters();
    int ernie_checked = 0;
    for (const auto& t : g.io.tensors) {
      if (t.name.rfind("grad.", 0) != 0) continue;
      const std::string name = t.name.substr(5);
      ASSERT_TRUE(params[name].grad().defined()) << name;
      EXPECT_TRUE(close(params[name].grad(), g.get(t.name))) << name;
      ernie_checked += name.rfind("ernie.", 0) == 0;
    }
    EXPECT_GE(ernie_checked, 3);
  }
}

MVTAG_INSTANTIATE_DEVICE_TESTS(ModelGoldenOnDevice);
