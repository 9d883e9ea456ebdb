// Weights from elsewhere through the binary: mvtag import-paddle on an original-style combined
// checkpoint, then infer on the result; convert-ernie; training from a HuggingFace ERNIE.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/interop/paddle_import.h"
#include "mvtag/core/interop/paddle_names.h"
#include "mvtag/core/interop/pretrained_ernie.h"

using namespace mvtag;
using mvtag::test::CliResult;
using mvtag::test::contains;
using mvtag::test::run_mvtag;
using mvtag::test::TempDir;
namespace fs = std::filesystem;

namespace {

const std::string kInterop = std::string(MVTAG_FIXTURES) + "/interop/";

std::string conf_text(const std::string& ernie_dir) {
  return "[MODEL]\n"
         "drop_rate = 0.5\n"
         "feature_names = ['rgb', 'audio', 'text']\n"
         "text_max_len = 12\n"
         "feature_dims = [[6], [5], [5, 12, 1]]\n"
         "lstm_size_img = 3\n"
         "lstm_size_audio = 2\n"
         "num_classes = 12\n"
         "top_n = [1, 2, 3, 5]\n"
         "class_name_file = \"data/class.txt\"\n"
         "ernie_freeze = True\n"
         "lstm_pool_mode = 'text_guide'\n"
         "\n[TRAIN]\n"
         "epoch = 1\nlearning_rate = 0.001\ndecay_gamma = 0.5\nl2_weight_decay = 8e-4\ndecay_epochs = [1]\n"
         "num_samples = 8\nbatch_size = 4\nuse_gpu = False\nwarmup_epoch = 0\nloss_type = \"sigmoid\"\n"
         "ernie_pretrain_dict_path = \"" + ernie_dir + "\"\n"
         "filelist = \"data/feature_files/\"\nurl_title_label_file = \"data/train.txt\"\n"
         "early_stop = 0\nseed = 1\nnum_workers = 1\n"
         "\n[VALID]\nbatch_size = 4\nfilelist = \"data/feature_files/\"\nurl_title_label_file = \"data/val.txt\"\n"
         "\n[INFER]\nbatch_size = 4\nthreshold = 0.5\nfilelist = \"data/feature_files/\"\n"
         "url_title_label_file = \"data/val.txt\"\n";
}

// The network conf_text describes (ERNIE from the Paddle fixture), as import-paddle builds it.
NetConfig conf_network() {
  NetConfig c;
  c.ernie = read_ernie_config(kInterop + "ernie_paddle/ernie_config.json");
  c.rgb_dim = 6;
  c.audio_dim = 5;
  c.lstm_size_img = 3;
  c.lstm_size_audio = 2;
  c.num_classes = 12;
  return c;
}

std::vector<NamedArray> random_network(const NetConfig& c) {
  std::mt19937 gen(7);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  std::vector<NamedArray> out;
  for (const ParamMapping& m : paddle_checkpoint_mapping(c)) {
    for (const ParamSpec& s : m.ours) {
      std::int64_t n = 1;
      for (std::int64_t d : s.shape) n *= d;
      std::vector<float> values(static_cast<std::size_t>(n));
      for (float& v : values) v = normal(gen);
      out.push_back({s.name, NDArray::from_float(s.shape, values)});
    }
  }
  return out;
}

class InteropCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("interop_cli");
    fs::create_directories(dir() + "/ckpt");
    const CliResult r = run_mvtag("demo-data -o data --train 8 --val 4 --rgb-dim 6 --audio-dim 5 --seed 2", dir());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    dir_->write("conf.txt", conf_text(kInterop + "ernie_paddle/"));
    export_paddle_params(dir() + "/ckpt/param", conf_network(), random_network(conf_network()));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string dir() { return dir_->path(); }
  // Runs `mvtag <args>` in the suite's directory.
  static CliResult mvtag_in(const std::string& args) { return run_mvtag(args, dir()); }

 private:
  static TempDir* dir_;
};
TempDir* InteropCli::dir_ = nullptr;

}  // namespace

TEST_F(InteropCli, ImportPaddleThenInfer) {
  const CliResult r = mvtag_in("import-paddle --checkpoint ckpt --conf conf.txt --output imported");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "imported ckpt/param (71 tensors, lstm_pool_mode text_guide) into imported")) << r.out;
  for (const char* f : {"model.safetensors", "model.json", "vocab.txt", "class.txt"}) {
    EXPECT_TRUE(path_exists(dir() + "/imported/" + f)) << f;
  }
  const SafetensorsFile imported = read_safetensors(dir() + "/imported/model.safetensors");
  const std::vector<NamedArray> want = random_network(conf_network());
  ASSERT_EQ(imported.tensors.size(), want.size());
  for (const NamedArray& w : want) {
    const NDArray* got = imported.find(w.name);
    ASSERT_NE(got, nullptr) << w.name;
    EXPECT_EQ(got->data, w.array.data) << w.name;
  }
  EXPECT_EQ(read_file(dir() + "/imported/vocab.txt"), read_file(kInterop + "ernie_paddle/vocab.txt"));

  const CliResult infer = mvtag_in("infer --model imported --conf conf.txt --output out.json --threshold 0");
  ASSERT_EQ(infer.exit_code, 0) << infer.err;
  const nlohmann::json out = nlohmann::json::parse(read_file(dir() + "/out.json"));
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0]["labels"].size(), 12u);  // threshold 0: every class, each with a probability
}

TEST_F(InteropCli, ABadCheckpointFailsNamingTheTensor) {
  const std::string good = read_file(dir() + "/ckpt/param");
  fs::create_directories(dir() + "/cut");
  write_file_atomic(dir() + "/cut/param", good.substr(0, good.size() - 100));
  const CliResult cut = mvtag_in("import-paddle --checkpoint cut/param --conf conf.txt --output bad");
  EXPECT_EQ(cut.exit_code, 1);
  EXPECT_TRUE(contains(cut.err, "tensor 'word_embedding'")) << cut.err;
  EXPECT_TRUE(contains(cut.err, "truncated")) << cut.err;
  EXPECT_FALSE(path_exists(dir() + "/bad"));

  const CliResult mode = mvtag_in("import-paddle --checkpoint ckpt --conf conf.txt --set MODEL.lstm_pool_mode=self "
                                  "--output bad");
  EXPECT_EQ(mode.exit_code, 1);
  EXPECT_TRUE(contains(mode.err, "ckpt/param: tensor #35 at byte ")) << mode.err;
  EXPECT_TRUE(contains(mode.err, "expected fc_14.b_0 [1], found [8] — is lstm_pool_mode right?")) << mode.err;
  EXPECT_FALSE(path_exists(dir() + "/bad"));

  const CliResult missing = mvtag_in("import-paddle --checkpoint data --conf conf.txt --output bad");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.err, "holds neither 'param'")) << missing.err;

  const CliResult usage = mvtag_in("import-paddle --conf conf.txt --output bad");
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_TRUE(contains(usage.err + usage.out, "--checkpoint is required")) << usage.err;
}

TEST_F(InteropCli, ConvertErnieWritesOurFormat) {
  const CliResult r = mvtag_in("convert-ernie --input '" + kInterop + "ernie_hf_zip' --output ernie_ours");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "converted the huggingface ERNIE")) << r.out;
  EXPECT_TRUE(contains(r.err, "no ernie.safetensors, no Paddle parameter files; pytorch_model.bin found")) << r.err;
  EXPECT_TRUE(contains(r.err, "ERNIE weights: HuggingFace directory")) << r.err;
  EXPECT_TRUE(contains(r.err, "torch.save zip format, prefix 'ernie.', 37 tensors used, 4 unused")) << r.err;
  const PretrainedErnie ours = read_pretrained_ernie(dir() + "/ernie_ours");
  const PretrainedErnie paddle = read_pretrained_ernie(kInterop + "ernie_paddle");
  EXPECT_EQ(ours.format, "mvtag");
  ASSERT_EQ(ours.weights.tensors.size(), paddle.weights.tensors.size());
  for (std::size_t i = 0; i < ours.weights.tensors.size(); ++i) {
    EXPECT_EQ(ours.weights.tensors[i].array.data, paddle.weights.tensors[i].array.data) << ours.weights.tensors[i].name;
  }

  const CliResult none = mvtag_in("convert-ernie --input data/feature_files --output x");
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_TRUE(contains(none.err, "vocab.txt is missing")) << none.err;
}

TEST_F(InteropCli, TrainsFromAHuggingFaceErnie) {
  write_file_atomic(dir() + "/conf_hf.txt", conf_text(kInterop + "ernie_hf_legacy/"));
  const CliResult r = mvtag_in("train --conf conf_hf.txt --max-steps 1 --save_dir runs_hf --valid_interval 0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "ERNIE weights: HuggingFace directory")) << r.err;
  EXPECT_TRUE(contains(r.err, "torch.save legacy format, prefix 'bert.'")) << r.err;
  EXPECT_TRUE(contains(r.err, "ERNIE weights loaded from")) << r.err;
}

TEST_F(InteropCli, HelpTeachesTheVerbs) {
  const CliResult help = mvtag_in("import-paddle --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_TRUE(contains(help.out, "checkpoints_save/param")) << help.out;
  EXPECT_TRUE(contains(help.out, "--ernie-config")) << help.out;
  const CliResult convert = mvtag_in("convert-ernie --help");
  EXPECT_EQ(convert.exit_code, 0);
  EXPECT_TRUE(contains(convert.out, "pytorch_model.bin")) << convert.out;
}
