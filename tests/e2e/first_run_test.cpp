// Defects a new user met on the first run, through the binary (issue: first run and parity):
// the configuration's threshold, fine-tuning a frozen-ERNIE checkpoint, Ctrl-C, and class lists
// that differ from the model's.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "small_job.h"
#include "mvtag/core/base/io.h"

using namespace mvtag;
using mvtag::test::BackgroundMvtag;
using mvtag::test::CliResult;
using mvtag::test::contains;
using mvtag::test::run_mvtag;
using mvtag::test::write_small_job;
using mvtag::test::TempDir;

namespace {

class FirstRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("first_run");
    ASSERT_NO_FATAL_FAILURE(write_small_job(*dir_));
    CliResult r = run_mvtag("train --conf conf.txt --save_dir run --threads 1", dir_->path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // Exported with threshold 0.3 and 16 tokens (stored in inference.json).
    r = run_mvtag("export --conf conf.txt --model run/best --output model", dir_->path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static CliResult mvtag(const std::string& args) { return run_mvtag(args, dir_->path()); }
  static std::string path(const std::string& name) { return dir_->file(name); }
  // Labels reported over every video of an infer output.
  static std::size_t labels_reported(const std::string& file) {
    std::size_t n = 0;
    for (const auto& v : nlohmann::json::parse(read_file(path(file)))) n += v["labels"].size();
    return n;
  }

  static TempDir* dir_;
};
TempDir* FirstRun::dir_ = nullptr;

}  // namespace

// ---- INFER.threshold from the configuration takes effect ------------------------------------------

TEST_F(FirstRun, InferUsesTheConfigurationsThreshold) {
  CliResult r = mvtag("infer --conf conf.txt --model model --output t05.json --set INFER.threshold=0.5");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "threshold 0.5 (from override")) << r.err;
  r = mvtag("infer --conf conf.txt --model model --output t0.json --set INFER.threshold=0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(labels_reported("t0.json"), 8u * 12u);  // every class of every video
  EXPECT_NE(read_file(path("t05.json")), read_file(path("t0.json")));

  // The file's value (and not the model's inference.json) when no --set is given.
  std::string conf = read_file(path("conf.txt"));
  conf.replace(conf.find("threshold = 0.3"), 15, "threshold = 0.0");
  write_file_atomic(path("conf_t0.txt"), conf);
  r = mvtag("infer --conf conf_t0.txt --model model --output file_t0.json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "threshold 0 (from conf_t0.txt:")) << r.err;
  EXPECT_EQ(read_file(path("file_t0.json")), read_file(path("t0.json")));

  // --threshold wins over the configuration.
  r = mvtag("infer --conf conf_t0.txt --model model --output flag.json --threshold 0.5");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "threshold 0.5 (from --threshold)")) << r.err;
  EXPECT_EQ(read_file(path("flag.json")), read_file(path("t05.json")));
}

// ---- --pretrain from a frozen-ERNIE checkpoint with ERNIE unfrozen -------------------------------

TEST_F(FirstRun, PretrainTakesTrainingSettingsFromTheConfiguration) {
  CliResult r = mvtag("train --conf conf.txt --save_dir finetune --threads 1 --epoch_num 1 --pretrain run/best "
                      "--set MODEL.ernie_freeze=False --set MODEL.drop_rate=0.3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "ernie_freeze = false from the configuration (the checkpoint in run/best was trained "
                              "with true)"))
      << r.err;
  EXPECT_TRUE(contains(r.err, "drop_rate = 0.3 from the configuration")) << r.err;
  const auto model = nlohmann::json::parse(read_file(path("finetune/last/model.json")));
  EXPECT_EQ(model["ernie_freeze"], false);
  // ERNIE was trained: its weights moved away from the checkpoint's.
  EXPECT_NE(read_file(path("finetune/last/model.safetensors")), read_file(path("run/best/model.safetensors")));

  // A setting that changes shapes is still refused, naming the key.
  r = mvtag("train --conf conf.txt --save_dir bad_shape --epoch_num 1 --pretrain run/best --set MODEL.lstm_size_img=7");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "lstm_size_img")) << r.err;
  EXPECT_TRUE(contains(r.err, "the checkpoint was built with 6 but the configuration gives 7")) << r.err;
}

// ---- Ctrl-C and SIGTERM: save, say how to resume, exit 128 + signal ------------------------------

namespace {
void expect_stop_by(int sig, int expected_code, const std::string& save_dir, const std::string& workdir) {
  // Many epochs, so that it is still training when the signal comes.
  BackgroundMvtag train("train --conf conf.txt --threads 1 --epoch_num 100000 --valid_interval 0 --save_dir " + save_dir,
                        workdir);
  ASSERT_TRUE(train.started());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  // The first epoch summary means the run is in its loop, with last/ saved once.
  while (!std::filesystem::exists(workdir + "/" + save_dir + "/metrics.jsonl") &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(std::filesystem::exists(workdir + "/" + save_dir + "/metrics.jsonl")) << train.err_so_far();
  train.signal(sig);
  const CliResult r = train.finish();
  EXPECT_EQ(r.exit_code, expected_code) << r.err;
  EXPECT_TRUE(contains(r.out, "interrupted       resume with: ")) << r.out;
  EXPECT_TRUE(contains(r.out, "--resume " + save_dir + "/last")) << r.out;
  EXPECT_FALSE(contains(r.out, "--epoch_num 100000 --valid_interval 0 --save_dir " + save_dir + " --resume " + save_dir +
                               "/last --resume"))
      << r.out;
  EXPECT_TRUE(contains(r.err, "resume with: ")) << r.err;
  const auto state = nlohmann::json::parse(read_file(workdir + "/" + save_dir + "/last/state.json"));
  EXPECT_GE(state["step"].get<int>(), 6);  // at least the first epoch (24 videos, batches of 4)
}
}  // namespace

TEST_F(FirstRun, CtrlCSavesAndExits130) { expect_stop_by(SIGINT, 130, "sigint", dir_->path()); }

TEST_F(FirstRun, SigtermSavesAndExits143) { expect_stop_by(SIGTERM, 143, "sigterm", dir_->path()); }

TEST_F(FirstRun, TheResumeCommandContinuesTheRun) {
  CliResult r = mvtag("train --conf conf.txt --threads 1 --save_dir resumable --max-steps 3");
  ASSERT_EQ(r.exit_code, 0) << r.err;  // a step limit is not a signal: success
  const std::string marker = "resume with: ";
  const auto at = r.out.find(marker);
  ASSERT_NE(at, std::string::npos) << r.out;
  std::string command = r.out.substr(at + marker.size());
  command = command.substr(0, command.find('\n'));
  EXPECT_FALSE(contains(command, "--max-steps")) << command;
  // Run it as printed, minus the program path.
  const std::string args = command.substr(command.find(' ') + 1);
  r = mvtag(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "resuming from resumable/last: 0 epochs and 3 steps done")) << r.err;
  EXPECT_TRUE(contains(r.out, "epochs completed  2")) << r.out;
}

// ---- The configuration's class list against the model's ------------------------------------------

TEST_F(FirstRun, ADifferentClassListIsWarnedAboutOrRefused) {
  std::string classes = read_file(path("data/class.txt"));
  const std::string first = classes.substr(0, classes.find('\n'));
  write_file_atomic(path("renamed_class.txt"), "renamed" + classes.substr(first.size()));
  CliResult r = mvtag("infer --conf conf.txt --model model --output renamed.json --set MODEL.class_name_file=renamed_class.txt");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "class 0 is 'renamed' there and '" + first + "' in the model")) << r.err;
  r = mvtag("eval --conf conf.txt --model model --set MODEL.class_name_file=renamed_class.txt");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "class 0 is 'renamed'")) << r.err;

  write_file_atomic(path("more_class.txt"), classes + "extra\n");
  r = mvtag("infer --conf conf.txt --model model --output more.json --set MODEL.class_name_file=more_class.txt "
            "--set MODEL.num_classes=13");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "lists 13 classes but the model in model has 12")) << r.err;
  EXPECT_FALSE(path_exists(path("more.json")));

  // The model's own list: nothing to say.
  r = mvtag("infer --conf conf.txt --model model --output same.json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(contains(r.err, "class_name_file")) << r.err;
}
