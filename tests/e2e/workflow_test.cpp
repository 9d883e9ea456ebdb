// The whole job through the binary on a very small generated data set:
// demo-data -> train -> eval -> export -> infer, exact resume, and the error cases.
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>

#include "cli_runner.h"
#include "small_job.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/data/features.h"

using namespace mvtag;
using mvtag::test::CliResult;
using mvtag::test::contains;
using mvtag::test::run_mvtag;
using mvtag::test::write_small_job;
using mvtag::test::TempDir;

namespace {

std::vector<std::string> list_names(const std::string& path) {
  std::vector<std::string> names;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) names.push_back(line.substr(0, line.find('\t')));
  }
  return names;
}

class Workflow : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("workflow");
    ASSERT_NO_FATAL_FAILURE(write_small_job(*dir_));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static CliResult mvtag(const std::string& args) { return run_mvtag(args, dir_->path()); }
  static std::string path(const std::string& name) { return dir_->file(name); }

  static TempDir* dir_;
};
TempDir* Workflow::dir_ = nullptr;

}  // namespace

TEST_F(Workflow, TrainEvalExportInfer) {
  CliResult r = mvtag("train --conf conf.txt --save_dir run --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "epochs completed  2")) << r.out;
  EXPECT_TRUE(contains(r.out, "best model        run/best")) << r.out;
  for (const char* f : {"run/best/model.safetensors", "run/best/model.json", "run/best/vocab.txt", "run/best/class.txt",
                        "run/last/optimizer.safetensors", "run/last/state.json", "run/training_curve.svg"}) {
    EXPECT_TRUE(path_exists(path(f))) << f;
  }
  std::istringstream jsonl(read_file(path("run/metrics.jsonl")));
  int epochs = 0;
  for (std::string line; std::getline(jsonl, line); ++epochs) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["epoch"], epochs + 1);
    EXPECT_EQ(j["train"]["videos"], 24);
    EXPECT_EQ(j["valid"]["videos"], 8);
  }
  EXPECT_EQ(epochs, 2);

  // eval: the table and --json carry the same numbers.
  r = mvtag("eval --conf conf.txt --model run/best --json eval.json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto ej = nlohmann::json::parse(read_file(path("eval.json")));
  EXPECT_EQ(ej["num_videos"], 8);
  EXPECT_TRUE(contains(r.out, "videos        8")) << r.out;
  for (const char* k : {"1", "2", "3", "5"}) {
    const std::string row = fmt::format("Hit@{:<10}{:.2f}", k, ej["hit_at"][k].get<double>());
    EXPECT_TRUE(contains(r.out, row)) << row << "\n" << r.out;
  }
  EXPECT_TRUE(contains(r.out, fmt::format("GAP@20        {:.4f}", ej["gap"].get<double>()))) << r.out;
  EXPECT_EQ(ej["per_class"].size(), 12u);

  // export -> infer: the original's JSON, one object per validation video, in list order.
  r = mvtag("export --conf conf.txt --model run/best --output model");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(path_exists(path("model/inference.json")));
  EXPECT_FALSE(path_exists(path("model/optimizer.safetensors")));
  r = mvtag("infer --conf conf.txt --model model --output out.json --threshold 0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto out = nlohmann::json::parse(read_file(path("out.json")));
  const auto names = list_names(path("data/val.txt"));
  ASSERT_EQ(out.size(), names.size());
  const auto classes = list_names(path("data/class.txt"));
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto& v = out[i];
    ASSERT_EQ(v.size(), 2u);
    const std::string expected_id =
        load_video_features(feature_path_for(path("data/feature_files"), names[i]), 16, 8).video_id;
    EXPECT_EQ(v["video_id"], expected_id);
    ASSERT_EQ(v["labels"].size(), 12u);  // threshold 0: every class, in class order
    for (std::size_t c = 0; c < 12; ++c) {
      EXPECT_EQ(v["labels"][c][0], classes[c]);
      const double p = v["labels"][c][1];
      EXPECT_GE(p, 0.0);
      EXPECT_LE(p, 1.0);
    }
  }

  r = mvtag("infer --conf conf.txt --model model --output - --format jsonl --top_k 2 --threshold 0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::size_t n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    const auto v = nlohmann::json::parse(line);
    ASSERT_EQ(v["labels"].size(), 2u);
    EXPECT_GE(v["labels"][0][1].get<double>(), v["labels"][1][1].get<double>());
  }
  EXPECT_EQ(n, names.size());
}

TEST_F(Workflow, ResumeGivesTheSameWeightsAsAnUninterruptedRun) {
  CliResult r = mvtag("train --conf conf.txt --save_dir straight --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // 24 videos in batches of 4: step 4 stops inside the first epoch.
  r = mvtag("train --conf conf.txt --save_dir split --threads 1 --max-steps 4");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "interrupted")) << r.out;
  EXPECT_EQ(nlohmann::json::parse(read_file(path("split/last/state.json")))["step"], 4);
  r = mvtag("train --conf conf.txt --save_dir split --threads 1 --resume split/last");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "optimizer steps   12")) << r.out;
  EXPECT_EQ(read_file(path("straight/last/model.safetensors")), read_file(path("split/last/model.safetensors")));
  EXPECT_EQ(read_file(path("straight/last/optimizer.safetensors")), read_file(path("split/last/optimizer.safetensors")));
}

TEST_F(Workflow, AConfThatDescribesAnotherNetworkIsWarnedAbout) {
  CliResult r = mvtag("train --conf conf.txt --save_dir mismatch --epoch_num 1 --valid_interval 0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = mvtag("export --conf conf.txt --model mismatch/last --output mismatch_model --set MODEL.lstm_size_img=7");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "lstm_size_img = 7, but the model in mismatch/last has 6; using the model's")) << r.err;
  r = mvtag("export --conf conf.txt --model mismatch/last --output mismatch_model");
  EXPECT_FALSE(contains(r.err, "using the model's")) << r.err;
}

TEST_F(Workflow, MissingModelIsARunTimeErrorNamingIt) {
  const CliResult r = mvtag("eval --conf conf.txt --model no/such/model");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "no/such/model")) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST_F(Workflow, BadListLineNamesFileAndLine) {
  std::string list = read_file(path("data/train.txt"));
  list += "extra.mp4\ttitle\t美食-烹饪\tfourth field\n";
  write_file_atomic(path("bad_train.txt"), list);
  const CliResult r = mvtag("train --conf conf.txt --save_dir bad --set TRAIN.url_title_label_file=bad_train.txt");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.err, "bad_train.txt:25")) << r.err;
  EXPECT_FALSE(path_exists(path("bad/last")));
}

TEST_F(Workflow, MissingFeaturesAreReportedByNameAndCounted) {
  CliResult r = mvtag("train --conf conf.txt --save_dir quick --epoch_num 1 --valid_interval 0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string list = read_file(path("data/val.txt"));
  list += "ghost_video.mp4\tno features\t美食-烹饪\n";
  write_file_atomic(path("ghost_val.txt"), list);
  r = mvtag("infer --conf conf.txt --model quick/last --output ghost.json --set INFER.url_title_label_file=ghost_val.txt");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "ghost_video.mp4")) << r.err;
  EXPECT_TRUE(contains(r.err, "1 without features")) << r.err;
  EXPECT_EQ(nlohmann::json::parse(read_file(path("ghost.json"))).size(), 8u);

  // An unreadable feature file is skipped with its name and counted, not a crash.
  const auto names = list_names(path("data/val.txt"));
  std::string mixed;
  for (int i = 0; i < 2; ++i) {
    std::filesystem::create_directories(path("mixed"));
    std::filesystem::copy_file(feature_path_for(path("data/feature_files"), names[i]),
                               feature_path_for(path("mixed"), names[i]));
    mixed += names[i] + "\tok\t美食-烹饪\n";
  }
  write_file_atomic(path("mixed/ffff0000.pkl"), "not a pickle");
  write_file_atomic(path("mixed.txt"), mixed + "ffff0000.mp4\tbroken\t美食-烹饪\n");
  r = mvtag("eval --conf conf.txt --model quick/last --set VALID.url_title_label_file=mixed.txt --set VALID.filelist=mixed/");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "ffff0000")) << r.err;
  EXPECT_TRUE(contains(r.out, "videos        2")) << r.out;
  EXPECT_TRUE(contains(r.out, "skipped       1")) << r.out;
}

namespace {
// prec/last (one epoch) exported as prec_int8 with --precision int8; each test process has its
// own directory, so each test that needs them makes them.
void make_int8_model(const std::function<CliResult(const std::string&)>& mvtag) {
  CliResult r = mvtag("train --conf conf.txt --save_dir prec --epoch_num 1 --valid_interval 0 --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = mvtag("export --conf conf.txt --model prec/last --output prec_int8 --precision int8");
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

// The dtypes named in a safetensors header.
std::set<std::string> safetensors_dtypes(const std::string& file) {
  const std::string bytes = read_file(file);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  std::set<std::string> out;
  const auto header = nlohmann::json::parse(bytes.substr(8, n));
  for (const auto& [name, entry] : header.items()) {
    if (name != "__metadata__") out.insert(entry["dtype"].get<std::string>());
  }
  return out;
}
}  // namespace

TEST_F(Workflow, PrecisionIsStoredAtExportAndUsedByInferAndEval) {
  ASSERT_NO_FATAL_FAILURE(make_int8_model(mvtag));
  const auto info = nlohmann::json::parse(read_file(path("prec_int8/inference.json")));
  EXPECT_EQ(info["precision"], "int8");
  // The weights stay float32: the precision is applied when the model is loaded.
  EXPECT_EQ(safetensors_dtypes(path("prec_int8/model.safetensors")), std::set<std::string>{"F32"});
  CliResult r;

  r = mvtag("infer --conf conf.txt --model prec_int8 --output int8.jsonl --format jsonl --threshold 0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "precision int8 (from")) << r.err;
  EXPECT_TRUE(contains(r.err, "prec_int8/inference.json")) << r.err;
  r = mvtag("infer --conf conf.txt --model prec_int8 --output fp32.jsonl --format jsonl --threshold 0 --precision fp32");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "precision fp32 (from --precision)")) << r.err;
  r = mvtag("infer --conf conf.txt --model prec_int8 --output bf16.jsonl --format jsonl --threshold 0 --precision bf16");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Same videos, probabilities within the stated bound, and not identical (the setting took effect).
  const auto read_probs = [&](const std::string& file) {
    std::vector<double> p;
    std::istringstream lines(read_file(path(file)));
    for (std::string line; std::getline(lines, line);) {
      const auto video = nlohmann::json::parse(line);
      for (const auto& label : video["labels"]) p.push_back(label[1].get<double>());
    }
    return p;
  };
  const auto fp32 = read_probs("fp32.jsonl");
  ASSERT_EQ(fp32.size(), 8u * 12u);  // every validation video, every class
  for (const char* file : {"int8.jsonl", "bf16.jsonl"}) {
    const auto other = read_probs(file);
    ASSERT_EQ(other.size(), fp32.size()) << file;
    double worst = 0;
    for (std::size_t i = 0; i < fp32.size(); ++i) worst = std::max(worst, std::abs(other[i] - fp32[i]));
    EXPECT_GT(worst, 0.0) << file;
    EXPECT_LE(worst, 0.05) << file;
  }

  r = mvtag("eval --conf conf.txt --model prec_int8 --precision bf16 --json eval_bf16.json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "precision bf16 (from --precision)")) << r.err;
  EXPECT_TRUE(contains(r.out, "precision     bf16")) << r.out;
  EXPECT_EQ(nlohmann::json::parse(read_file(path("eval_bf16.json")))["precision"], "bf16");
  // eval --output stores the precision too.
  r = mvtag("eval --conf conf.txt --model prec/last --output prec_bf16 --save_only --precision bf16");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(read_file(path("prec_bf16/inference.json")))["precision"], "bf16");
}

TEST_F(Workflow, PrecisionErrorsNameTheFlagOrTheFile) {
  ASSERT_NO_FATAL_FAILURE(make_int8_model(mvtag));
  CliResult r = mvtag("infer --conf conf.txt --model prec_int8 --precision int4 --output x.json");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "--precision")) << r.err;
  EXPECT_TRUE(contains(r.err, "int4")) << r.err;
  r = mvtag("export --conf conf.txt --model prec/last --output never --precision fp16");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_FALSE(path_exists(path("never")));
  r = mvtag("infer --help");
  EXPECT_TRUE(contains(r.out, "--precision")) << r.out;
  EXPECT_TRUE(contains(r.out, "CPU only")) << r.out;

  // A bad value in a model's inference.json names the file and the key.
  const std::string bad = path("prec_bad");
  std::filesystem::copy(path("prec_int8"), bad);
  auto info = nlohmann::json::parse(read_file(bad + "/inference.json"));
  info["precision"] = "int4";
  write_file_atomic(bad + "/inference.json", info.dump());
  r = mvtag("infer --conf conf.txt --model prec_bad --output x.json");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.err, "prec_bad/inference.json")) << r.err;
  EXPECT_TRUE(contains(r.err, "precision")) << r.err;

  // int8 with a CUDA device: an error, not a silent fallback (with or without a GPU here: the
  // device is only resolved to the CPU when CUDA is missing, and then int8 is what runs).
  r = mvtag("infer --conf conf.txt --model prec_int8 --precision int8 --device cuda --output cuda.json");
  if (r.exit_code == 0) {
    EXPECT_TRUE(contains(r.err, "CUDA")) << "no GPU, so the CPU ran it; the fallback must be warned about\n" << r.err;
  } else {
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_TRUE(contains(r.err, "CPU only")) << r.err;
  }
}
