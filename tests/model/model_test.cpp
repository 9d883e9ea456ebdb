#include <gtest/gtest.h>
#include <torch/torch.h>

#include "device_test.h"
#include "model/golden.h"
#include "mvtag/core/base/error.h"
#include "mvtag/model/model.h"
#include "test_util.h"
#include "tiny_config.h"

using namespace mvtag;
using mvtag::test::close;
using mvtag::test::Golden;
using mvtag::test::thrown_error;
using mvtag::test::tiny_net_config;

namespace {

// One video's tensors, unpadded.
struct Video {
  torch::Tensor rgb, audio, ids;
};

std::vector<Video> split_videos(const NetInput& in) {
  std::vector<Video> out;
  for (std::int64_t b = 0; b < in.rgb.size(0); ++b) {
    out.push_back({in.rgb[b].narrow(0, 0, in.rgb_len[b].item<std::int64_t>()),
                   in.audio[b].narrow(0, 0, in.audio_len[b].item<std::int64_t>()),
                   in.text_ids[b].narrow(0, 0, in.text_len[b].item<std::int64_t>())});
  }
  return out;
}

// Pads to the longest + `extra` steps with junk, so nothing may depend on padding.
NetInput batch_of(const std::vector<Video>& videos, std::int64_t extra = 0) {
  std::int64_t t = 0, ta = 0, l = 0;
  for (const auto& v : videos) {
    t = std::max(t, v.rgb.size(0));
    ta = std::max(ta, v.audio.size(0));
    l = std::max(l, v.ids.size(0));
  }
  const auto n = static_cast<std::int64_t>(videos.size());
  NetInput in{torch::full({n, t + extra, videos[0].rgb.size(1)}, 7.0f), torch::empty({n}, torch::kInt64),
              torch::full({n, ta + extra, videos[0].audio.size(1)}, -7.0f), torch::empty({n}, torch::kInt64),
              torch::full({n, l}, 3, torch::kInt64), torch::empty({n}, torch::kInt64)};
  for (std::int64_t b = 0; b < n; ++b) {
    const auto& v = videos[static_cast<std::size_t>(b)];
    in.rgb[b].narrow(0, 0, v.rgb.size(0)).copy_(v.rgb);
    in.audio[b].narrow(0, 0, v.audio.size(0)).copy_(v.audio);
    in.text_ids[b].narrow(0, 0, v.ids.size(0)).copy_(v.ids);
    in.rgb_len[b] = v.rgb.size(0);
    in.audio_len[b] = v.audio.size(0);
    in.text_len[b] = v.ids.size(0);
  }
  return in;
}

// The tests that run the network; those about its construction alone stay on the CPU (TEST).
class ModelOnDevice : public mvtag::test::DeviceTest {};

}  // namespace

TEST_P(ModelOnDevice, AVideosOutputDoesNotDependOnItsBatchOrPadding) {
  const torch::Device device = GetParam();
  const Golden g("a");
  auto net = g.net(/*freeze=*/true, device);
  torch::NoGradGuard no_grad;
  const auto videos = split_videos(g.input());
  const auto batch_logits = net->forward(g.input(device)).cpu();
  // A different mix: reordered, repeated, padded further with junk.
  const auto mixed = net->forward(batch_of({videos[2], videos[0], videos[3], videos[1], videos[0]}, 3).to(device)).cpu();
  const std::int64_t order[] = {2, 0, 3, 1, 0};
  for (std::size_t b = 0; b < videos.size(); ++b) {
    const auto alone = net->forward(batch_of({videos[b]}).to(device))[0].cpu();
    EXPECT_LE((alone - batch_logits[static_cast<std::int64_t>(b)]).abs().max().item<float>(), 1e-5f) << "video " << b;
  }
  for (std::int64_t i = 0; i < 5; ++i) {
    EXPECT_LE((mixed[i] - batch_logits[order[i]]).abs().max().item<float>(), 1e-5f) << "position " << i;
  }
}

TEST_P(ModelOnDevice, ErnieDropoutIsActiveInTrainingEvenWhenFrozen) {
  const torch::Device device = GetParam();
  const Golden g("a");
  auto net = g.net(/*freeze=*/true, device);
  net->train();
  const auto ids = g.get("text_ids", device), len = g.get("text_len", device);
  const auto a = net->ernie(ids, len), b = net->ernie(ids, len);
  EXPECT_GT((a - b).abs().max().item<float>(), 1e-3f);
  net->eval();
  EXPECT_TRUE(torch::equal(net->ernie(ids, len), net->ernie(ids, len)));
}

TEST_P(ModelOnDevice, NoGradientReachesAFrozenErnie) {
  const torch::Device device = GetParam();
  const Golden g("a");
  auto net = g.net(/*freeze=*/true, device);
  net->train();
  net->loss(net->forward(g.input(device)), g.get("labels", device)).backward();
  for (const auto& p : net->ernie->named_parameters()) {
    EXPECT_FALSE(p.value().requires_grad()) << p.key();
    EXPECT_FALSE(p.value().grad().defined()) << p.key();
  }
  for (const auto& p : net->textcnn->named_parameters()) EXPECT_TRUE(p.value().grad().defined()) << p.key();
  for (const auto& [name, tensor] : net->trainable_parameters()) EXPECT_NE(name.rfind("ernie.", 0), 0u) << name;
  EXPECT_EQ(net->trainable_parameters().size(), net->parameters().size() - net->ernie->parameters().size());
}

TEST_P(ModelOnDevice, AnUnfrozenErnieIsTrained) {
  const torch::Device device = GetParam();
  const Golden g("a");
  auto net = g.net(/*freeze=*/false, device);
  net->train();
  net->loss(net->forward(g.input(device)), g.get("labels", device)).backward();
  const auto grad = net->ernie->layers[0]->as<ErnieLayerImpl>()->ffn_in->weight.grad();
  ASSERT_TRUE(grad.defined());
  EXPECT_GT(grad.abs().max().item<float>(), 0.0f);
  EXPECT_EQ(net->trainable_parameters().size(), net->parameters().size());
}

TEST_P(ModelOnDevice, TrainingDiffersFromEvalOnlyThroughDropout) {
  const torch::Device device = GetParam();
  NetConfig c = tiny_net_config();
  c.drop_rate = 0.0;
  c.ernie.hidden_dropout_prob = 0.0;
  c.ernie.attention_probs_dropout_prob = 0.0;
  torch::manual_seed(1);
  VideoTagNet net(c);
  net->to(device);
  const Golden g("a");
  const auto in = g.input(device);
  torch::NoGradGuard no_grad;
  net->train();
  const auto train_out = net->forward(in);
  net->eval();
  EXPECT_TRUE(torch::equal(train_out, net->forward(in)));

  // With drop_rate 0.5 the Paddle dropouts draw fresh masks in training; eval is deterministic.
  c.drop_rate = 0.5;
  torch::manual_seed(1);
  VideoTagNet dropping(c);
  dropping->to(device);
  dropping->train();
  EXPECT_FALSE(torch::equal(dropping->forward(in), dropping->forward(in)));
}

TEST(Model, SeedDeterminesTheInitialisation) {
  const auto build = [](std::uint64_t seed) {
    torch::manual_seed(seed);
    return VideoTagNet(tiny_net_config());
  };
  const auto a = build(7), b = build(7), c = build(8);
  const auto pa = a->named_parameters(), pb = b->named_parameters(), pc = c->named_parameters();
  for (const auto& item : pa) EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();
  EXPECT_FALSE(torch::equal(pa["image.fwd_proj.weight"], pc["image.fwd_proj.weight"]));
  EXPECT_FALSE(torch::equal(pa["ernie.word_embeddings.weight"], pc["ernie.word_embeddings.weight"]));
}

TEST(Model, InitialisationFollowsTheOriginal) {
  torch::manual_seed(3);
  NetConfig c = tiny_net_config();
  c.ernie.vocab_size = 4000;  // enough samples for the statistics
  VideoTagNet net(c);
  const auto p = net->named_parameters();
  // ERNIE: truncated normal (std 0.02, cut at ±2 std), zero biases, LayerNorm 1/0.
  const auto emb = p["ernie.word_embeddings.weight"];
  EXPECT_LE(emb.abs().max().item<double>(), 0.04 + 1e-7);
  EXPECT_NEAR(emb.std().item<double>(), 0.02 * 0.8796, 0.0005);  // std of N(0,1) cut at ±2
  EXPECT_NEAR(emb.mean().item<double>(), 0.0, 0.0005);
  EXPECT_EQ(p["ernie.layers.1.attention.key.bias"].abs().sum().item<double>(), 0.0);
  EXPECT_LE(p["ernie.layers.1.ffn_out.weight"].abs().max().item<double>(), 0.04 + 1e-7);
  EXPECT_TRUE(torch::equal(p["ernie.layers.0.ffn_norm.weight"], torch::ones({16})));
  EXPECT_EQ(p["ernie.embedding_norm.bias"].abs().sum().item<double>(), 0.0);
  // Xavier-uniform on Paddle's [in, out] shapes, zero biases.
  const std::pair<const char*, double> xavier[] = {{"image.fwd_proj.weight", std::sqrt(6.0 / (12 + 20))},
                                                   {"audio.bwd_proj.weight", std::sqrt(6.0 / (6 + 12))},
                                                   {"image.attention.tanh_fc.weight", std::sqrt(6.0 / (22 + 10))},
                                                   {"audio.attention.score_fc.weight", std::sqrt(6.0 / (6 + 1))},
                                                   {"classifier.weight", std::sqrt(6.0 / (28 + 7))}};
  for (const auto& [name, bound] : xavier) {
    EXPECT_LE(p[name].abs().max().item<double>(), bound) << name;
    EXPECT_GT(p[name].abs().max().item<double>(), 0.5 * bound) << name;
  }
  for (const char* name : {"image.bwd_proj.bias", "audio.fwd_proj.bias", "classifier.bias",
                           "image.attention.tanh_fc.bias", "audio.attention.score_fc.bias", "textcnn.conv3.bias"}) {
    EXPECT_EQ(p[name].abs().sum().item<double>(), 0.0) << name;
  }
}

TEST(Model, ParameterNamesAreTheFileFormat) {
  // Any change here changes the weight file format (docs/FORMATS.md).
  VideoTagNet net(tiny_net_config());
  std::vector<std::string> names;
  for (const auto& item : net->named_parameters()) {
    if (item.key().rfind("ernie.layers.", 0) == 0 && item.key().rfind("ernie.layers.0.", 0) != 0) continue;
    names.push_back(item.key() + " " + shape_string(item.value().sizes().vec()));
  }
  const std::vector<std::string> expected = {
      "ernie.word_embeddings.weight [40, 16]", "ernie.position_embeddings.weight [12, 16]",
      "ernie.sentence_embeddings.weight [2, 16]", "ernie.embedding_norm.weight [16]", "ernie.embedding_norm.bias [16]",
      "ernie.layers.0.attention.query.weight [16, 16]", "ernie.layers.0.attention.query.bias [16]",
      "ernie.layers.0.attention.key.weight [16, 16]", "ernie.layers.0.attention.key.bias [16]",
      "ernie.layers.0.attention.value.weight [16, 16]", "ernie.layers.0.attention.value.bias [16]",
      "ernie.layers.0.attention.output.weight [16, 16]", "ernie.layers.0.attention.output.bias [16]",
      "ernie.layers.0.attention_norm.weight [16]", "ernie.layers.0.attention_norm.bias [16]",
      "ernie.layers.0.ffn_in.weight [64, 16]", "ernie.layers.0.ffn_in.bias [64]",
      "ernie.layers.0.ffn_out.weight [16, 64]", "ernie.layers.0.ffn_out.bias [16]",
      "ernie.layers.0.ffn_norm.weight [16]", "ernie.layers.0.ffn_norm.bias [16]",
      "textcnn.conv2.weight [4, 16, 2]", "textcnn.conv2.bias [4]", "textcnn.conv3.weight [4, 16, 3]",
      "textcnn.conv3.bias [4]", "textcnn.conv4.weight [4, 16, 4]", "textcnn.conv4.bias [4]",
      "image.fwd_proj.weight [20, 12]", "image.fwd_lstm.weight_hh [20, 5]", "image.fwd_lstm.bias [20]",
      "image.fwd_lstm.peephole [15]", "image.bwd_proj.weight [20, 12]", "image.bwd_proj.bias [20]",
      "image.bwd_lstm.weight_hh [20, 5]", "image.bwd_lstm.bias [20]", "image.bwd_lstm.peephole [15]",
      "image.attention.tanh_fc.weight [10, 22]", "image.attention.tanh_fc.bias [10]",
      "image.attention.score_fc.weight [1, 10]", "image.attention.score_fc.bias [1]",
      "audio.fwd_proj.weight [12, 6]", "audio.fwd_proj.bias [12]", "audio.fwd_lstm.weight_hh [12, 3]",
      "audio.fwd_lstm.bias [12]", "audio.fwd_lstm.peephole [9]", "audio.bwd_proj.weight [12, 6]",
      "audio.bwd_lstm.weight_hh [12, 3]", "audio.bwd_lstm.bias [12]", "audio.bwd_lstm.peephole [9]",
      "audio.attention.tanh_fc.weight [6, 18]", "audio.attention.tanh_fc.bias [6]",
      "audio.attention.score_fc.weight [1, 6]", "audio.attention.score_fc.bias [1]", "classifier.weight [7, 28]",
      "classifier.bias [7]"};
  EXPECT_EQ(names, expected);
  EXPECT_EQ(net->named_parameters().size(), expected.size() + 16);  // + layer 1
}

TEST(Model, SelfAttentionHasNoTanhFc) {
  NetConfig c = tiny_net_config();
  c.lstm_pool_mode = "";
  VideoTagNet net(c);
  const auto p = net->named_parameters();
  EXPECT_EQ(p.find("image.attention.tanh_fc.weight"), nullptr);
  EXPECT_NE(p.find("audio.attention.score_fc.weight"), nullptr);
  EXPECT_EQ(p.size(), 71u - 4u);
}

// Floats per the parameter tables of docs/FORMATS.md (ERNIE and the rest).
std::pair<std::int64_t, std::int64_t> documented_counts(const NetConfig& c) {
  const auto& e = c.ernie;
  const std::int64_t d = e.hidden_size, inner = e.intermediate_size, u = c.text_dim();
  const std::int64_t layer = 4 * (d * d + d) + 2 * d + (inner * d + inner) + (d * inner + d) + 2 * d;
  const std::int64_t ernie =
      (e.vocab_size + e.max_position_embeddings + e.type_vocab_size) * d + 2 * d + e.num_hidden_layers * layer;
  const auto branch = [&](std::int64_t in, std::int64_t h) {
    const std::int64_t seq = 2 * h;
    const std::int64_t attention = (c.text_guided() ? seq * (seq + u) + seq : 0) + seq + 1;
    // Two projections, one of them with a bias; two LSTMs (weight_hh, bias, peephole).
    return 2 * 4 * h * in + 4 * h + 2 * (4 * h * h + 4 * h + 3 * h) + attention;
  };
  const std::int64_t rest = 9 * c.textcnn_filters * d + 3 * c.textcnn_filters + branch(c.rgb_dim, c.lstm_size_img) +
                            branch(c.audio_dim, c.lstm_size_audio) + c.num_classes * c.fusion_dim() + c.num_classes;
  return {ernie, rest};
}

TEST(Model, ParameterCountsFollowTheDocumentedShapes) {
  for (const char* mode : {"text_guide", "attention"}) {
    NetConfig c = tiny_net_config();
    c.lstm_pool_mode = mode;
    VideoTagNet net(c);
    std::int64_t ernie = 0, rest = 0;
    for (const auto& item : net->named_parameters()) {
      (item.key().rfind("ernie.", 0) == 0 ? ernie : rest) += item.value().numel();
    }
    EXPECT_EQ(std::make_pair(ernie, rest), documented_counts(c)) << mode;
  }
  // docs/FORMATS.md, "Parameters": 114,130,288 floats, 14,854,768 outside ERNIE, at the original's sizes.
  const NetConfig original;
  const auto [ernie, rest] = documented_counts(original);
  EXPECT_EQ(ernie + rest, 114130288);
  EXPECT_EQ(rest, 14854768);
}

TEST_P(ModelOnDevice, SoftmaxLossNormalisesLabels) {
  const torch::Device device = GetParam();
  NetConfig c = tiny_net_config();
  c.loss_type = "softmax";
  VideoTagNet net(c);
  const auto logits = torch::tensor({{0.5f, -1.0f, 2.0f}, {0.0f, 0.3f, -0.2f}}).to(device);
  NetConfig c3 = c;
  c3.num_classes = 3;
  VideoTagNet net3(c3);
  net3->to(device);
  const auto multi_hot = torch::tensor({{1.0f, 0.0f, 1.0f}, {0.0f, 1.0f, 0.0f}}).to(device);
  const auto normalised = torch::tensor({{0.5f, 0.0f, 0.5f}, {0.0f, 1.0f, 0.0f}}).to(device);
  const auto log_p = torch::log_softmax(logits.cpu(), 1);
  const double expected = -(0.5 * log_p[0][0].item<double>() + 0.5 * log_p[0][2].item<double>() + log_p[1][1].item<double>());
  EXPECT_NEAR(net3->loss(logits, multi_hot).item<double>(), expected, 1e-6);
  EXPECT_NEAR(net3->loss(logits, normalised).item<double>(), expected, 1e-6);
  EXPECT_TRUE(torch::allclose(net3->probabilities(logits).sum(1).cpu(), torch::ones({2})));
}

TEST_P(ModelOnDevice, SigmoidLossIsSummedBinaryCrossEntropy) {
  const torch::Device device = GetParam();
  NetConfig c = tiny_net_config();
  c.num_classes = 2;
  VideoTagNet net(c);
  net->to(device);
  const auto z = torch::tensor({{1.0f, -2.0f}, {0.5f, 0.0f}}).to(device);
  const auto y = torch::tensor({{1.0f, 0.0f}, {0.0f, 1.0f}}).to(device);
  // max(z,0) − z·y + log(1 + e^{−|z|}) per element, summed.
  double expected = 0;
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 2; ++j) {
      const double zz = z[i][j].item<double>(), yy = y[i][j].item<double>();
      expected += std::max(zz, 0.0) - zz * yy + std::log1p(std::exp(-std::abs(zz)));
    }
  }
  EXPECT_NEAR(net->loss(z, y).item<double>(), expected, 1e-5);
  EXPECT_TRUE(torch::allclose(net->probabilities(z).cpu(), torch::sigmoid(z.cpu())));
  const Error e = thrown_error([&] { net->loss(z, torch::zeros({2, 3}, device)); });
  EXPECT_EQ(e.where().tensor, "labels");
}

TEST_P(ModelOnDevice, BadInputsAreNamed) {
  const torch::Device device = GetParam();
  const Golden g("a");
  auto net = g.net(/*freeze=*/true, device);
  torch::NoGradGuard no_grad;
  const auto expect_named = [&](NetInput in, const std::string& tensor) {
    const Error e = thrown_error([&] { net->forward(in); });
    EXPECT_EQ(e.where().tensor, tensor) << e.what();
    EXPECT_EQ(e.kind(), ErrorKind::Data);
  };
  auto in = g.input(device);
  in.rgb = in.rgb.narrow(2, 0, 5);
  expect_named(in, "rgb");
  in = g.input(device);
  in.audio = in.audio.narrow(0, 0, 2);
  expect_named(in, "audio");
  in = g.input(device);
  in.rgb_len[1] = 0;  // an empty image sequence cannot be pooled
  expect_named(in, "rgb_len");
  in = g.input(device);
  in.audio_len[0] = in.audio.size(1) + 1;
  expect_named(in, "audio_len");
  in = g.input(device);
  in.text_ids = in.text_ids.to(torch::kInt32);
  expect_named(in, "text");
  in = g.input(device);
  in.text_len = in.text_len.to(torch::kInt32);
  expect_named(in, "text_len");
  in = g.input(device);
  in.text_ids = torch::ones({4, 13}, torch::TensorOptions(torch::kInt64).device(device));  // max_position_embeddings is 12
  expect_named(in, "text");
}

MVTAG_INSTANTIATE_DEVICE_TESTS(ModelOnDevice);
