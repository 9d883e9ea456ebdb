// Weights from elsewhere in the network: every ERNIE directory kind gives the encoder the outputs
// an independent numpy implementation computed (tools/make_interop_fixtures.py), and the
// original's combined checkpoint round-trips through our network exactly.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "mvtag/core/base/io.h"
#include "mvtag/core/interop/paddle_import.h"
#include "mvtag/core/interop/pretrained_ernie.h"
#include "mvtag/model/model.h"
#include "mvtag/model/weights.h"
#include "test_util.h"

using namespace mvtag;
using mvtag::test::TempDir;

namespace {

const std::string kDir = std::string(MVTAG_FIXTURES) + "/interop/";

struct Expected {
  torch::Tensor ids, lengths, outputs;
};

Expected expected_outputs() {
  const nlohmann::json j = nlohmann::json::parse(read_file(kDir + "ernie_outputs.json"));
  Expected e;
  const auto ids = j["ids"].get<std::vector<std::vector<std::int64_t>>>();
  const auto out = j["outputs"].get<std::vector<std::vector<std::vector<double>>>>();
  const auto batch = static_cast<std::int64_t>(ids.size()), length = static_cast<std::int64_t>(ids[0].size());
  const auto dim = static_cast<std::int64_t>(out[0][0].size());
  e.ids = torch::empty({batch, length}, torch::kInt64);
  e.outputs = torch::empty({batch, length, dim}, torch::kFloat64);
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t t = 0; t < length; ++t) {
      e.ids[b][t] = ids[static_cast<std::size_t>(b)][static_cast<std::size_t>(t)];
      for (std::int64_t d = 0; d < dim; ++d) {
        e.outputs[b][t][d] = out[static_cast<std::size_t>(b)][static_cast<std::size_t>(t)][static_cast<std::size_t>(d)];
      }
    }
  }
  e.lengths = torch::tensor(j["lengths"].get<std::vector<std::int64_t>>(), torch::kInt64);
  return e;
}

// Largest difference to the reference over the real (unpadded) positions.
double max_error(const std::string& dir) {
  const PretrainedErnie pretrained = read_pretrained_ernie(dir);
  Ernie ernie(pretrained.config);
  load_module_arrays(*ernie, pretrained.weights, dir, "ernie.");
  ernie->eval();
  const Expected e = expected_outputs();
  torch::NoGradGuard no_grad;
  const torch::Tensor got = ernie->forward(e.ids, e.lengths).to(torch::kFloat64);
  double worst = 0;
  for (std::int64_t b = 0; b < e.ids.size(0); ++b) {
    const std::int64_t len = e.lengths[b].item<std::int64_t>();
    worst = std::max(worst, (got[b].slice(0, 0, len) - e.outputs[b].slice(0, 0, len)).abs().max().item<double>());
  }
  return worst;
}

NetConfig tiny_config(const std::string& mode) {
  NetConfig c = read_net_config(kDir + "checkpoint_text_guide/model.json");
  c.lstm_pool_mode = mode;
  return c;
}

NetInput random_input(const NetConfig& c) {
  NetInput in;
  in.rgb = torch::randn({3, 5, c.rgb_dim});
  in.rgb_len = torch::tensor({5, 2, 4}, torch::kInt64);
  in.audio = torch::randn({3, 4, c.audio_dim});
  in.audio_len = torch::tensor({1, 4, 3}, torch::kInt64);
  in.text_ids = torch::randint(5, c.ernie.vocab_size, {3, 6}, torch::kInt64);
  in.text_len = torch::tensor({6, 3, 4}, torch::kInt64);
  return in;
}

}  // namespace

TEST(ErnieInterop, EveryDirectoryKindGivesTheReferenceOutputs) {
  for (const std::string dir : {"ernie_paddle", "ernie_hf_zip", "ernie_hf_legacy", "ernie_hf_safetensors"}) {
    EXPECT_LE(max_error(kDir + dir), 1e-5) << dir;
  }
  TempDir tmp("interop_model");
  write_ernie_directory(read_pretrained_ernie(kDir + "ernie_hf_zip"), tmp.file("converted"));
  EXPECT_LE(max_error(tmp.file("converted")), 1e-5);
}

TEST(ErnieInterop, TheReferenceTellsWeightsApart) {
  // Guards the check above: a model one weight away from the reference is not within 1e-5.
  TempDir tmp("interop_model");
  PretrainedErnie pretrained = read_pretrained_ernie(kDir + "ernie_paddle");
  for (NamedArray& t : pretrained.weights.tensors) {
    if (t.name == "ernie.layers.1.ffn_out.bias") t.array.data[3] ^= 0x80;  // flip one bias's sign
  }
  write_ernie_directory(pretrained, tmp.file("perturbed"));
  EXPECT_GT(max_error(tmp.file("perturbed")), 1e-5);
}

TEST(CheckpointInterop, ThePythonCheckpointLoadsIntoTheNetworkByName) {
  for (const std::string mode : {"text_guide", "self_attention"}) {
    const NetConfig c = read_net_config(kDir + "checkpoint_" + mode + "/model.json");
    VideoTagNet net(c);
    SafetensorsFile file;
    file.tensors = import_paddle_params(kDir + "checkpoint_" + mode + "/param", c);
    load_module_arrays(*net, file, mode);  // strict: exactly the network's names and shapes
    const SafetensorsFile reference = read_safetensors(kDir + "checkpoint_" + mode + "/ours.safetensors");
    for (const NamedArray& a : module_arrays(*net)) {
      const NDArray* r = reference.find(a.name);
      ASSERT_NE(r, nullptr) << a.name;
      EXPECT_EQ(a.array.data, r->data) << a.name;
    }
  }
}

TEST(CheckpointInterop, ExportThenImportGivesTheSameNetwork) {
  TempDir tmp("interop_model");
  for (const std::string mode : {"text_guide", "self_attention"}) {
    const NetConfig c = tiny_config(mode);
    torch::manual_seed(11);
    VideoTagNet original(c);
    for (auto& p : original->parameters()) {
      torch::NoGradGuard no_grad;
      p.add_(torch::randn_like(p) * 0.1);  // biases and peepholes are 0 at init: make them count
    }
    export_paddle_params(tmp.file(mode), c, module_arrays(*original));

    torch::manual_seed(12);
    VideoTagNet imported(c);
    SafetensorsFile file;
    file.tensors = import_paddle_params(tmp.file(mode), c);
    load_module_arrays(*imported, file, tmp.file(mode));

    const std::vector<NamedArray> a = module_arrays(*original), b = module_arrays(*imported);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].name, b[i].name);
      EXPECT_EQ(a[i].array.data, b[i].array.data) << mode << " " << a[i].name;
    }
    original->eval();
    imported->eval();
    torch::NoGradGuard no_grad;
    const NetInput in = random_input(c);
    const torch::Tensor want = original->forward(in), got = imported->forward(in);
    EXPECT_TRUE(torch::equal(want, got)) << mode;
    EXPECT_GT(want.abs().max().item<float>(), 0.0f);
  }
}
