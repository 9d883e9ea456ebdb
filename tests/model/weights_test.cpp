#include <gtest/gtest.h>
#include <torch/torch.h>

#include "device_test.h"
#include "model/golden.h"
#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/formats/safetensors.h"
#include "mvtag/model/weights.h"
#include "test_util.h"

using namespace mvtag;
using mvtag::test::expect_message_contains;
using mvtag::test::Golden;
using mvtag::test::TempDir;
using mvtag::test::thrown_error;

namespace {

// Loads into, and saves from, a network on the device under test.
class WeightsOnDevice : public mvtag::test::DeviceTest {
 protected:
  std::string path(const std::string& name) const { return dir_.file(name); }

  TempDir dir_{"weights_test"};
};

// Initialised on the CPU from `seed`, then moved to `device`.
VideoTagNet seeded(const NetConfig& config, std::uint64_t seed, const torch::Device& device = torch::kCPU) {
  torch::manual_seed(seed);
  VideoTagNet net(config);
  net->to(device);
  net->eval();
  return net;
}

std::map<std::string, torch::Tensor> snapshot(const torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : m.named_parameters()) out[item.key()] = item.value().detach().clone();
  return out;
}

bool unchanged(const torch::nn::Module& m, const std::map<std::string, torch::Tensor>& before) {
  for (const auto& item : m.named_parameters()) {
    if (!torch::equal(item.value(), before.at(item.key()))) return false;
  }
  return true;
}

// Loads `file` into a fresh network and returns the Error (which must be Error(Model)).
Error load_error(const Golden& g, const SafetensorsFile& file, const std::string& source, const torch::Device& device) {
  auto net = seeded(g.config, 1, device);
  const auto before = snapshot(*net);
  const Error e = thrown_error([&] { load_module_arrays(*net, file, source); }, ErrorKind::Model);
  EXPECT_EQ(e.where().file, source);
  EXPECT_TRUE(unchanged(*net, before)) << "a failed load must not change any parameter";
  return e;
}

}  // namespace

TEST_P(WeightsOnDevice, SaveThenLoadGivesIdenticalOutputs) {
  const torch::Device device = GetParam();
  const Golden g("a");
  auto original = seeded(g.config, 1, device);
  save_weights(*original, path("model.safetensors"));
  auto other = seeded(g.config, 2, device);
  torch::NoGradGuard no_grad;
  EXPECT_FALSE(torch::equal(original->forward(g.input(device)), other->forward(g.input(device))));
  load_weights(*other, path("model.safetensors"));
  EXPECT_TRUE(torch::equal(original->forward(g.input(device)), other->forward(g.input(device))));
  const auto file = read_safetensors(path("model.safetensors"));
  EXPECT_EQ(file.tensors.size(), original->named_parameters().size());
  EXPECT_EQ(file.metadata.count("producer"), 1u);
}

TEST_P(WeightsOnDevice, ModelDirectoryRoundTrip) {
  const torch::Device device = GetParam();
  const Golden g("b");
  auto net = seeded(g.config, 3, device);
  save_model_files(*net, dir_.path());
  EXPECT_TRUE(path_exists(path(kModelConfigFile)));
  auto back = load_model(dir_.path(), device);
  EXPECT_EQ(back->parameters().front().device(), device);
  EXPECT_FALSE(back->is_training());
  EXPECT_EQ(back->config().lstm_pool_mode, "attention");
  EXPECT_EQ(back->config().loss_type, "softmax");
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(net->forward(g.input(device)), back->forward(g.input(device))));
}

TEST_P(WeightsOnDevice, MissingTensorIsNamed) {
  const torch::Device device = GetParam();
  const Golden g("a");
  auto file = read_safetensors(g.weights_path);
  file.tensors.erase(std::find_if(file.tensors.begin(), file.tensors.end(),
                                  [](const NamedArray& t) { return t.name == "image.bwd_lstm.peephole"; }));
  const Error e = load_error(g, file, "m.safetensors", device);
  EXPECT_EQ(e.where().tensor, "image.bwd_lstm.peephole");
  EXPECT_NE(std::string(e.what()).find("missing tensor 'image.bwd_lstm.peephole'"), std::string::npos) << e.what();
}

TEST_P(WeightsOnDevice, UnexpectedTensorIsNamed) {
  const torch::Device device = GetParam();
  const Golden g("a");
  auto file = read_safetensors(g.weights_path);
  file.tensors.push_back({"pooler.dense.weight", NDArray::from_float({2}, {1, 2})});
  const Error e = load_error(g, file, "m.safetensors", device);
  EXPECT_EQ(e.where().tensor, "pooler.dense.weight");
  EXPECT_NE(std::string(e.what()).find("unexpected tensor 'pooler.dense.weight'"), std::string::npos) << e.what();
}

TEST_P(WeightsOnDevice, WrongShapeIsNamed) {
  const torch::Device device = GetParam();
  const Golden g("a");
  auto file = read_safetensors(g.weights_path);
  for (auto& t : file.tensors) {
    // A Paddle-layout [in, out] weight that was not transposed.
    if (t.name == "classifier.weight") t.array.shape = {28, 7};
  }
  const Error e = load_error(g, file, "m.safetensors", device);
  EXPECT_EQ(e.where().tensor, "classifier.weight");
  EXPECT_NE(std::string(e.what()).find("'classifier.weight' has shape [28, 7], the network expects [7, 28]"),
            std::string::npos)
      << e.what();
}

TEST_P(WeightsOnDevice, WrongDtypeIsNamed) {
  const torch::Device device = GetParam();
  const Golden g("a");
  auto file = read_safetensors(g.weights_path);
  for (auto& t : file.tensors) {
    if (t.name != "textcnn.conv2.bias") continue;
    const auto values = t.array.to_float();
    t.array.dtype = DType::F64;
    t.array.data.resize(values.size() * 8);
    for (std::size_t i = 0; i < values.size(); ++i) {
      const double v = values[i];
      std::memcpy(t.array.data.data() + 8 * i, &v, 8);
    }
  }
  const Error e = load_error(g, file, "m.safetensors", device);
  EXPECT_EQ(e.where().tensor, "textcnn.conv2.bias");
  EXPECT_NE(std::string(e.what()).find("'textcnn.conv2.bias' has dtype float64, the network expects float32"),
            std::string::npos)
      << e.what();
}

TEST_P(WeightsOnDevice, EveryProblemIsListed) {
  const torch::Device device = GetParam();
  const Golden g("a");
  auto file = read_safetensors(g.weights_path);
  file.tensors.erase(std::find_if(file.tensors.begin(), file.tensors.end(),
                                  [](const NamedArray& t) { return t.name == "ernie.embedding_norm.bias"; }));
  file.tensors.push_back({"extra", NDArray::from_float({1}, {0})});
  const Error e = load_error(g, file, "m.safetensors", device);
  const std::string what = e.what();
  EXPECT_NE(what.find("2 problems"), std::string::npos) << what;
  EXPECT_NE(what.find("'ernie.embedding_norm.bias'"), std::string::npos) << what;
  EXPECT_NE(what.find("'extra'"), std::string::npos) << what;
}

TEST_P(WeightsOnDevice, ErnieAloneUnderItsModelNames) {
  const torch::Device device = GetParam();
  const Golden g("a");
  auto source = g.net(/*freeze=*/true, device);
  save_ernie_weights(*source->ernie, path("ernie.safetensors"));
  const auto file = read_safetensors(path("ernie.safetensors"));
  EXPECT_EQ(file.tensors.size(), source->ernie->named_parameters().size());
  for (const auto& t : file.tensors) EXPECT_EQ(t.name.rfind("ernie.", 0), 0u) << t.name;
  EXPECT_NE(file.find("ernie.layers.1.ffn_norm.bias"), nullptr);

  auto target = seeded(g.config, 9, device);
  const auto textcnn_before = snapshot(*target->textcnn);
  load_ernie_weights(*target->ernie, path("ernie.safetensors"));
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(target->ernie(g.get("text_ids", device), g.get("text_len", device)),
                           source->ernie(g.get("text_ids", device), g.get("text_len", device))));
  EXPECT_TRUE(unchanged(*target->textcnn, textcnn_before));

  // The whole model's file is not an ERNIE file.
  expect_message_contains(thrown_error([&] { load_ernie_weights(*target->ernie, g.weights_path); }),
                          {"unexpected tensor 'classifier.weight'"});
}

TEST_P(WeightsOnDevice, ErnieDirectoryChecksTheConfig) {
  const torch::Device device = GetParam();
  const Golden g("a");
  auto source = g.net(/*freeze=*/true, device);
  save_ernie_directory(*source->ernie, dir_.path());
  EXPECT_EQ(read_ernie_config(path(kErnieConfigFile)).hidden_size, 16);
  auto target = seeded(g.config, 4, device);
  load_ernie_directory(*target->ernie, dir_.path());
  EXPECT_TRUE(torch::equal(target->ernie->word_embeddings->weight, source->ernie->word_embeddings->weight));

  NetConfig bigger = g.config;
  bigger.ernie.num_hidden_layers = 3;
  auto mismatched = seeded(bigger, 4, device);
  const Error e = thrown_error([&] { load_ernie_directory(*mismatched->ernie, dir_.path()); }, ErrorKind::Model);
  EXPECT_EQ(e.where().key, "num_hidden_layers");
  EXPECT_EQ(e.where().file, path(kErnieConfigFile));
}

class TensorConversionOnDevice : public mvtag::test::DeviceTest {};

// ndarray_from_tensor reads from any device; tensor_from_ndarray gives CPU tensors.
TEST_P(TensorConversionOnDevice, RoundTripsEveryDtype) {
  const torch::Device device = GetParam();
  const torch::ScalarType types[] = {torch::kFloat32, torch::kFloat64, torch::kFloat16, torch::kBFloat16,
                                     torch::kInt64,   torch::kInt32,   torch::kInt16,   torch::kInt8,
                                     torch::kUInt8,   torch::kBool};
  for (const auto type : types) {
    const auto t = torch::tensor({0, 1, 2, 3, 1, 0}).view({2, 3}).to(type);
    const NDArray a = ndarray_from_tensor(t.to(device));
    EXPECT_EQ(a.shape, (std::vector<std::int64_t>{2, 3}));
    EXPECT_EQ(a.nbytes(), 6 * t.element_size());
    const auto back = tensor_from_ndarray(a);
    EXPECT_EQ(back.scalar_type(), type);
    EXPECT_TRUE(torch::equal(back, t)) << c10::toString(type);
  }
}

TEST_P(TensorConversionOnDevice, NonContiguousTensorsAreStoredRowMajor) {
  const torch::Device device = GetParam();
  const auto t = torch::arange(6, torch::kFloat32).view({2, 3}).to(device).t();  // [[0, 3], [1, 4], [2, 5]]
  const NDArray a = ndarray_from_tensor(t);
  EXPECT_EQ(a.shape, (std::vector<std::int64_t>{3, 2}));
  EXPECT_EQ(a.to_float(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  const NDArray f = NDArray::from_float({2, 2}, {1.5f, -2.0f, 0.25f, 8.0f});
  EXPECT_TRUE(torch::equal(tensor_from_ndarray(f), torch::tensor({{1.5f, -2.0f}, {0.25f, 8.0f}})));
}

TEST(TensorConversion, BadArraysAreErrors) {
  NDArray a = NDArray::from_float({2}, {1, 2});
  a.data.pop_back();
  EXPECT_THROW(tensor_from_ndarray(a), Error);
  EXPECT_THROW(ndarray_from_tensor(torch::zeros({2}, torch::kComplexFloat)), Error);
}

MVTAG_INSTANTIATE_DEVICE_TESTS(WeightsOnDevice);
MVTAG_INSTANTIATE_DEVICE_TESTS(TensorConversionOnDevice);
