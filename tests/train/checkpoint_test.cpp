// Checkpoints round trip: save_checkpoint, then read_train_state, load_optimizer_state and
// load_model_directory give back the same weights, accumulators, training state and generator
// state, on the device under test.
#include <filesystem>
#include <map>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "device_test.h"
#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/model/weights.h"
#include "mvtag/train/checkpoint.h"
#include "test_util.h"
#include "tiny_config.h"

using namespace mvtag;
using mvtag::test::expect_message_contains;
using mvtag::test::TempDir;
using mvtag::test::thrown_error;
using mvtag::test::tiny_net_config;

namespace {

Vocab tiny_vocab() {
  std::vector<std::string> tokens = {"[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"};
  for (int i = 0; tokens.size() < 40; ++i) tokens.push_back("tok" + std::to_string(i));
  return Vocab::from_tokens(tokens, "tiny vocab");
}

ClassMap tiny_classes() { return ClassMap::parse("c0\nc1\nc2\nc3\nc4\nc5\nc6\n", "class.txt", 7); }

// One optimizer step with gradients drawn on the CPU (so that every device sees the same ones).
void step_with_drawn_gradients(VideoTagNetImpl& net, PaddleRmsprop& optimizer, std::uint64_t seed) {
  torch::manual_seed(seed);
  for (auto& [name, p] : net.trainable_parameters()) p.mutable_grad() = torch::randn(p.sizes()).to(p.device());
  optimizer.step(0.01);
}

std::map<std::string, torch::Tensor> on_cpu(const std::vector<NamedTensor>& tensors) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, t] : tensors) out[name] = t.detach().cpu().clone();
  return out;
}

std::map<std::string, torch::Tensor> parameters_on_cpu(const VideoTagNetImpl& net) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : net.named_parameters()) out[item.key()] = item.value().detach().cpu().clone();
  return out;
}

::testing::AssertionResult same_tensors(const std::map<std::string, torch::Tensor>& a,
                                        const std::map<std::string, torch::Tensor>& b) {
  if (a.size() != b.size()) return ::testing::AssertionFailure() << a.size() << " vs " << b.size() << " tensors";
  for (const auto& [name, t] : a) {
    const auto it = b.find(name);
    if (it == b.end()) return ::testing::AssertionFailure() << "'" << name << "' missing";
    if (!torch::equal(t, it->second)) return ::testing::AssertionFailure() << "'" << name << "' differs";
  }
  return ::testing::AssertionSuccess();
}

class CheckpointOnDevice : public mvtag::test::DeviceTest {
 protected:
  // A tiny network on the device, trained two steps, and a state with every field set.
  void SetUp() override {
    mvtag::test::DeviceTest::SetUp();
    if (IsSkipped()) return;
    device_ = GetParam();
    torch::manual_seed(1);
    net_ = VideoTagNet(tiny_net_config());
    net_->to(device_);
    optimizer_ = std::make_unique<PaddleRmsprop>(net_->trainable_parameters(), RmspropOptions{},
                                                 std::set<std::string>{"audio.fwd_proj.bias"});
    step_with_drawn_gradients(*net_, *optimizer_, 2);
    step_with_drawn_gradients(*net_, *optimizer_, 3);

    state_.epoch = 3;
    state_.step = 417;
    state_.batch_in_epoch = 12;
    state_.validation.best_hit1 = 100.0 / 3.0;
    state_.validation.best_epoch = 2;
    state_.validation.bad_validations = 1;
    state_.seed = 18446744073709551557ull;  // above 2^63: a full uint64 survives the JSON
    state_.history = {{1, 2.5, 10.0 / 3.0, 2.25, 12.5}, {2, 1.0 / 7.0, 40.0, std::nullopt, std::nullopt},
                      {3, 0.1, 55.5, 0.3, std::nullopt}};
    state_.cpu_rng = generator_state(torch::kCPU);
    if (device_.is_cuda()) state_.cuda_rng = generator_state(device_);
  }

  std::string dir() const { return tmp_.file("last"); }

  torch::Device device_ = torch::kCPU;
  TempDir tmp_{"checkpoint_test"};
  VideoTagNet net_{nullptr};
  std::unique_ptr<PaddleRmsprop> optimizer_;
  TrainState state_;
};

}  // namespace

TEST_P(CheckpointOnDevice, TrainStateRoundTrips) {
  save_checkpoint(dir(), *net_, tiny_vocab(), tiny_classes(), *optimizer_, state_);
  EXPECT_TRUE(is_checkpoint(dir()));
  const TrainState back = read_train_state(dir());
  EXPECT_EQ(back.epoch, state_.epoch);
  EXPECT_EQ(back.step, state_.step);
  EXPECT_EQ(back.batch_in_epoch, state_.batch_in_epoch);
  EXPECT_EQ(back.validation.best_hit1, state_.validation.best_hit1);
  EXPECT_EQ(back.validation.best_epoch, state_.validation.best_epoch);
  EXPECT_EQ(back.validation.bad_validations, state_.validation.bad_validations);
  EXPECT_EQ(back.seed, state_.seed);
  EXPECT_EQ(back.cpu_rng, state_.cpu_rng);
  EXPECT_EQ(back.cuda_rng, state_.cuda_rng);
  ASSERT_EQ(back.history.size(), state_.history.size());
  for (std::size_t i = 0; i < back.history.size(); ++i) {
    SCOPED_TRACE("history " + std::to_string(i));
    EXPECT_EQ(back.history[i].epoch, state_.history[i].epoch);
    EXPECT_EQ(back.history[i].train_loss, state_.history[i].train_loss);
    EXPECT_EQ(back.history[i].train_hit1, state_.history[i].train_hit1);
    EXPECT_EQ(back.history[i].val_loss, state_.history[i].val_loss);
    EXPECT_EQ(back.history[i].val_hit1, state_.history[i].val_hit1);
  }
}

TEST_P(CheckpointOnDevice, ModelDirectoryGivesBackIdenticalWeights) {
  save_checkpoint(dir(), *net_, tiny_vocab(), tiny_classes(), *optimizer_, state_);
  const LoadedModel loaded = load_model_directory(dir(), device_);
  EXPECT_FALSE(loaded.net->is_training());
  for (const auto& p : loaded.net->parameters()) EXPECT_EQ(p.device(), device_);
  EXPECT_TRUE(same_tensors(parameters_on_cpu(*loaded.net), parameters_on_cpu(*net_)));
  EXPECT_EQ(loaded.classes.names(), tiny_classes().names());
  EXPECT_EQ(loaded.tokenizer.vocab().find("tok7"), tiny_vocab().find("tok7"));
}

TEST_P(CheckpointOnDevice, OptimizerAccumulatorsRoundTripAndContinueIdentically) {
  save_checkpoint(dir(), *net_, tiny_vocab(), tiny_classes(), *optimizer_, state_);
  LoadedModel loaded = load_model_directory(dir(), device_);
  PaddleRmsprop resumed(loaded.net->trainable_parameters(), RmspropOptions{},
                        std::set<std::string>{"audio.fwd_proj.bias"});
  load_optimizer_state(dir(), resumed, device_);
  for (const auto& [name, t] : resumed.state()) EXPECT_EQ(t.device(), device_) << name;
  const auto saved = on_cpu(optimizer_->state());
  EXPECT_TRUE(same_tensors(on_cpu(resumed.state()), saved));
  for (const auto& [name, t] : saved) {
    if (name.find("/mean_square") != std::string::npos) {
      EXPECT_GT(t.abs().max().item<double>(), 0.0) << name;
    }
  }

  // The next step from the checkpoint is the step the original takes.
  step_with_drawn_gradients(*net_, *optimizer_, 4);
  step_with_drawn_gradients(*loaded.net, resumed, 4);
  EXPECT_TRUE(same_tensors(parameters_on_cpu(*loaded.net), parameters_on_cpu(*net_)));
  EXPECT_TRUE(same_tensors(on_cpu(resumed.state()), on_cpu(optimizer_->state())));
}

TEST_P(CheckpointOnDevice, GeneratorStateRoundTrips) {
  save_checkpoint(dir(), *net_, tiny_vocab(), tiny_classes(), *optimizer_, state_);
  const TrainState back = read_train_state(dir());
  // Draws after the saved state, then the same draws again once it is restored.
  const auto cpu_draws = torch::rand({16});
  const auto device_draws = torch::rand({16}, torch::TensorOptions().device(device_)).cpu();
  torch::rand({7});  // move both generators on
  torch::rand({7}, torch::TensorOptions().device(device_));
  restore_generator_state(torch::kCPU, back.cpu_rng);
  if (device_.is_cuda()) {
    ASSERT_FALSE(back.cuda_rng.empty());
    restore_generator_state(device_, back.cuda_rng);
  } else {
    EXPECT_TRUE(back.cuda_rng.empty());
  }
  EXPECT_TRUE(torch::equal(torch::rand({16}), cpu_draws));
  EXPECT_TRUE(torch::equal(torch::rand({16}, torch::TensorOptions().device(device_)).cpu(), device_draws));
}

TEST_P(CheckpointOnDevice, MissingFilesAreErrorsNamingThem) {
  save_checkpoint(dir(), *net_, tiny_vocab(), tiny_classes(), *optimizer_, state_);
  std::filesystem::remove(dir() + "/" + kStateFile);
  EXPECT_FALSE(is_checkpoint(dir()));
  expect_message_contains(thrown_error([&] { read_train_state(dir()); }), {kStateFile});

  std::filesystem::remove(dir() + "/" + kOptimizerFile);
  expect_message_contains(thrown_error([&] { load_optimizer_state(dir(), *optimizer_, device_); }), {kOptimizerFile});

  std::filesystem::remove(dir() + "/" + kModelWeightsFile);
  expect_message_contains(thrown_error([&] { load_model_directory(dir(), device_); }), {kModelWeightsFile});

  expect_message_contains(thrown_error([&] { load_model_directory(tmp_.file("nowhere"), device_); }), {"nowhere"});
}

MVTAG_INSTANTIATE_DEVICE_TESTS(CheckpointOnDevice);
