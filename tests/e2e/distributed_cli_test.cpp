// Data-parallel training through the binary, on loopback with Gloo: `mvtag train --nproc 2`,
// ranks started by hand with torchrun's variables, and torchrun itself when it is installed.
// Two ranks must end where one process ends (the same global batch), validate to the same
// numbers, and fail cleanly (a non-zero exit with a message, never a hang) when a rank dies,
// hangs, or was started differently.
#include <signal.h>

#include <chrono>
#include <cmath>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "small_job.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/dist/local_launch.h"
#include "mvtag/core/formats/safetensors.h"

using namespace mvtag;
using mvtag::test::BackgroundMvtag;
using mvtag::test::CliResult;
using mvtag::test::contains;
using mvtag::test::run_mvtag;
using mvtag::test::TempDir;

namespace {

// No dropout, so that one process and two ranks compute the same function; 8 videos per step
// (4 per rank), 3 steps per epoch.
const std::string kRun = "train --conf conf.txt --threads 1 --set MODEL.drop_rate=0.0 --batch_size 8 ";

// The largest |a - b| over every weight of two model.safetensors files.
double max_weight_difference(const std::string& a, const std::string& b) {
  const SafetensorsFile x = read_safetensors(a), y = read_safetensors(b);
  EXPECT_EQ(x.tensors.size(), y.tensors.size());
  double worst = 0;
  for (const NamedArray& t : x.tensors) {
    const NDArray* other = y.find(t.name);
    if (other == nullptr) {
      ADD_FAILURE() << t.name << " missing from " << b;
      continue;
    }
    const std::vector<float> u = t.array.to_float(), v = other->to_float();
    EXPECT_EQ(u.size(), v.size()) << t.name;
    for (std::size_t i = 0; i < std::min(u.size(), v.size()); ++i) {
      worst = std::max(worst, std::abs(static_cast<double>(u[i]) - v[i]));
    }
  }
  return worst;
}

std::vector<nlohmann::json> metric_lines(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

std::string rank_env(int world, int rank, int port) {
  return "WORLD_SIZE=" + std::to_string(world) + " RANK=" + std::to_string(rank) +
         " MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port);
}

class DistributedCli : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(test::write_small_job(dir_)); }
  CliResult mvtag(const std::string& args, const std::string& before = "") {
    return run_mvtag(args, dir_.path(), before);
  }
  TempDir dir_{"distributed_cli"};
};

}  // namespace

TEST_F(DistributedCli, TwoRanksEndWithTheWeightsAndValidationOfOneProcess) {
  CliResult one = mvtag(kRun + "--epoch_num 2 --save_dir one");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  CliResult two = mvtag(kRun + "--epoch_num 2 --save_dir two --nproc 2");
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_TRUE(contains(two.err, "data parallel: 2 ranks (gloo), global batch 8, 4-4 per rank")) << two.err;
  EXPECT_TRUE(contains(two.out, "optimizer steps   6")) << two.out;
  EXPECT_FALSE(contains(two.err, "rank 1 info")) << "ranks other than 0 log warnings only:\n" << two.err;

  EXPECT_LE(max_weight_difference(dir_.file("one/last/model.safetensors"), dir_.file("two/last/model.safetensors")),
            1e-5);
  // Validation after each epoch: the same videos, Hit@k, GAP and mAP; losses up to float rounding.
  const auto a = metric_lines(dir_.file("one/metrics.jsonl")), b = metric_lines(dir_.file("two/metrics.jsonl"));
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), a.size());
  for (std::size_t e = 0; e < a.size(); ++e) {
    const auto &va = a[e]["valid"], &vb = b[e]["valid"];
    EXPECT_EQ(vb["videos"], va["videos"]);
    EXPECT_EQ(vb["hit_at"], va["hit_at"]) << e;
    EXPECT_NEAR(vb["gap"].get<double>(), va["gap"].get<double>(), 1e-6) << e;
    EXPECT_NEAR(vb["map"].get<double>(), va["map"].get<double>(), 1e-6) << e;
    EXPECT_NEAR(vb["perr"].get<double>(), va["perr"].get<double>(), 1e-6) << e;
    EXPECT_NEAR(vb["loss"].get<double>(), va["loss"].get<double>(), 1e-4 * std::abs(va["loss"].get<double>())) << e;
    EXPECT_NEAR(vb["loss_original"].get<double>(), va["loss_original"].get<double>(),
                1e-4 * std::abs(va["loss_original"].get<double>()))
        << e;
    EXPECT_EQ(b[e]["train"]["videos"], a[e]["train"]["videos"]);
    EXPECT_NEAR(b[e]["train"]["loss"].get<double>(), a[e]["train"]["loss"].get<double>(),
                1e-4 * std::abs(a[e]["train"]["loss"].get<double>()));
    EXPECT_EQ(b[e]["best"], a[e]["best"]);
  }
  // Only rank 0 wrote: one best/ and last/, and nothing else in the save directory.
  EXPECT_TRUE(path_exists(dir_.file("two/best/model.safetensors")));
}

TEST_F(DistributedCli, ARankWithAnEmptyPartOfTheLastBatchStillTakesTheStep) {
  // 24 videos in batches of 23: the second batch holds one video, so rank 0's part is empty.
  const std::string run = "train --conf conf.txt --threads 1 --set MODEL.drop_rate=0.0 --batch_size 23 "
                          "--epoch_num 1 --valid_interval 0 ";
  CliResult one = mvtag(run + "--save_dir one");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  CliResult two = mvtag(run + "--save_dir two --nproc 2");
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_TRUE(contains(two.out, "optimizer steps   2")) << two.out;
  EXPECT_LE(max_weight_difference(dir_.file("one/last/model.safetensors"), dir_.file("two/last/model.safetensors")),
            1e-5);
}

TEST_F(DistributedCli, TrainingErnieTooGivesTheWeightsOfOneProcess) {
  // ERNIE's 37 tensors join the all-reduce; its dropout is switched off in its config, so one
  // process and two ranks compute the same function.
  const std::string config_file = dir_.file("data/ernie/ernie_config.json");
  auto config = nlohmann::json::parse(read_file(config_file));
  config["hidden_dropout_prob"] = 0.0;
  config["attention_probs_dropout_prob"] = 0.0;
  write_file_atomic(config_file, config.dump());
  const std::string run = kRun + "--set MODEL.ernie_freeze=False --epoch_num 1 --valid_interval 0 ";
  CliResult r = mvtag(run + "--save_dir one");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = mvtag(run + "--save_dir two --nproc 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LE(max_weight_difference(dir_.file("one/last/model.safetensors"), dir_.file("two/last/model.safetensors")),
            1e-5);
}

TEST_F(DistributedCli, OneProcessResumesADistributedRunAndTheOtherWayRound) {
  CliResult r = mvtag(kRun + "--epoch_num 2 --valid_interval 0 --save_dir whole");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Two ranks stop mid-epoch; one process finishes.
  r = mvtag(kRun + "--epoch_num 2 --valid_interval 0 --save_dir a --nproc 2 --max-steps 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "--nproc 2 --resume a/last")) << "the command that continues keeps --nproc\n" << r.out;
  r = mvtag(kRun + "--epoch_num 2 --valid_interval 0 --save_dir a --resume a/last");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LE(max_weight_difference(dir_.file("whole/last/model.safetensors"), dir_.file("a/last/model.safetensors")),
            1e-5);
  // One process stops; two ranks finish.
  r = mvtag(kRun + "--epoch_num 2 --valid_interval 0 --save_dir b --max-steps 4");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = mvtag(kRun + "--epoch_num 2 --valid_interval 0 --save_dir b --resume b/last --nproc 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LE(max_weight_difference(dir_.file("whole/last/model.safetensors"), dir_.file("b/last/model.safetensors")),
            1e-5);
}

TEST_F(DistributedCli, AnElasticRestartContinuesFromLast) {
  // torchrun --max_restarts starts the workers again with TORCHELASTIC_RESTART_COUNT > 0: they
  // continue from <save_dir>/last, as if given --resume.
  CliResult r = mvtag(kRun + "--epoch_num 2 --valid_interval 0 --save_dir whole");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = mvtag(kRun + "--epoch_num 2 --valid_interval 0 --save_dir e --nproc 2 --max-steps 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = mvtag(kRun + "--epoch_num 2 --valid_interval 0 --save_dir e --nproc 2", "TORCHELASTIC_RESTART_COUNT=1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "restart 1 of an elastic run: continuing from e/last")) << r.err;
  EXPECT_TRUE(contains(r.out, "optimizer steps   6")) << r.out;
  EXPECT_LE(max_weight_difference(dir_.file("whole/last/model.safetensors"), dir_.file("e/last/model.safetensors")),
            1e-5);
}

TEST_F(DistributedCli, KillingOneRankMakesTheOtherExitWithAMessage) {
  const int port = free_local_port();
  const std::string run = kRun + "--epoch_num 100000 --valid_interval 0 --dist_timeout 30 --save_dir k";
  BackgroundMvtag rank0(run, dir_.path(), rank_env(2, 0, port));
  BackgroundMvtag rank1(run, dir_.path(), rank_env(2, 1, port));
  ASSERT_TRUE(rank0.started() && rank1.started());
  // Wait until they train together (rank 0 reports its first epoch), then kill rank 1.
  for (int i = 0; i < 600 && !contains(rank0.err_so_far(), "epoch 1/100000:"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(contains(rank0.err_so_far(), "epoch 1/100000:")) << rank0.err_so_far() << rank1.err_so_far();
  rank1.signal(SIGKILL);
  rank1.finish();
  const CliResult r = rank0.finish();  // returns: a rank that is gone never makes the others hang
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "rank 0/2:")) << r.err;
  EXPECT_TRUE(contains(r.err, "failed")) << r.err;
}

TEST_F(DistributedCli, ARankThatHangsIsGivenUpOnAfterTheTimeout) {
  const int port = free_local_port();
  const std::string run = kRun + "--epoch_num 100000 --valid_interval 0 --dist_timeout 3 --save_dir h";
  BackgroundMvtag rank0(run, dir_.path(), rank_env(2, 0, port));
  BackgroundMvtag rank1(run, dir_.path(), rank_env(2, 1, port));
  for (int i = 0; i < 600 && !contains(rank0.err_so_far(), "epoch 1/100000:"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(contains(rank0.err_so_far(), "epoch 1/100000:")) << rank0.err_so_far() << rank1.err_so_far();
  rank1.signal(SIGSTOP);  // alive, but answers nothing
  const CliResult r = rank0.finish();
  rank1.signal(SIGKILL);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "--dist_timeout 3 s")) << r.err;
}

TEST_F(DistributedCli, StartUpProblemsAreClearErrors) {
  // Mismatched configurations: both ranks name the key.
  int port = free_local_port();
  {
    BackgroundMvtag rank0(kRun + "--save_dir m --dist_timeout 20", dir_.path(), rank_env(2, 0, port));
    const CliResult rank1 = mvtag(kRun + "--save_dir m --dist_timeout 20 --set TRAIN.learning_rate=0.5",
                                  rank_env(2, 1, port));
    const CliResult r0 = rank0.finish();
    for (const CliResult* r : {&r0, &rank1}) {
      EXPECT_EQ(r->exit_code, 2) << r->err;
      EXPECT_TRUE(contains(r->err, "rank 0 has TRAIN.learning_rate = 0.002, rank 1 has TRAIN.learning_rate = 0.5"))
          << r->err;
    }
  }
  // A port in use: rank 0 cannot serve the rendezvous.
  CliResult r;
  {
    const test::BusyPort busy;
    ASSERT_GT(busy.port(), 0);
    port = busy.port();
    r = mvtag(kRun + "--save_dir p --dist_timeout 5", rank_env(2, 0, port));
  }
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "127.0.0.1:" + std::to_string(port))) << r.err;
  EXPECT_TRUE(contains(r.err, "port in use")) << r.err;
  // A master nobody serves: rank 1 gives up after the timeout.
  port = free_local_port();
  r = mvtag(kRun + "--save_dir u --dist_timeout 2", rank_env(2, 1, port));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "cannot reach the rendezvous store of rank 0 within 2 s")) << r.err;
  // Half the variables, or --nproc inside a launched rank: usage errors.
  r = mvtag(kRun + "--save_dir v", "WORLD_SIZE=2 RANK=1");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "environment variable MASTER_ADDR")) << r.err;
  r = mvtag(kRun + "--save_dir v --nproc 2", rank_env(2, 0, port));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "--nproc starts ranks of its own")) << r.err;
  EXPECT_FALSE(path_exists(dir_.file("v")));
}

TEST_F(DistributedCli, RanksThatReadDifferentDataAreStopped) {
  // Rank 1 runs in a copy of the directory whose training list lacks its last video: the same
  // command and configuration, other data.
  TempDir other("distributed_cli_other");
  ASSERT_EQ(test::run_shell("cp -r data conf.txt '" + other.path() + "/'", dir_.path()).exit_code, 0);
  std::string list = read_file(other.file("data/train.txt"));
  list.erase(list.rfind('\n', list.size() - 2) + 1);
  write_file_atomic(other.file("data/train.txt"), list);
  const int port = free_local_port();
  BackgroundMvtag rank0(kRun + "--save_dir d --dist_timeout 20", dir_.path(), rank_env(2, 0, port));
  const CliResult rank1 = run_mvtag(kRun + "--save_dir d --dist_timeout 20", other.path(), rank_env(2, 1, port));
  const CliResult r0 = rank0.finish();
  for (const CliResult* r : {&r0, &rank1}) {
    EXPECT_EQ(r->exit_code, 2) << r->err;
    EXPECT_TRUE(contains(r->err, "different data sets: rank 0 has train = 24 videos")) << r->err;
    EXPECT_TRUE(contains(r->err, "rank 1 has train = 23 videos")) << r->err;
  }
}

TEST_F(DistributedCli, TorchrunLaunchesTheBinaryUnchanged) {
  if (std::system("command -v torchrun >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "torchrun is not installed (Debian: apt-get install python3-torch); not tested";
  }
  // Debian 12's torchrun (torch 1.13 on Python 3.11) cannot parse its own default "--redirects 0"
  // (Python 3.11 no longer iterates over zero-valued flags) and fails before starting anything;
  // explicit single-stream values avoid that code path.
  std::string flags;
  const CliResult probe = test::run_shell("torchrun --nproc_per_node=1 --no_python true", dir_.path());
  if (probe.exit_code != 0) flags = "--redirects 1 --tee 1 ";
  const int port = free_local_port();
  CliResult r = mvtag(kRun + "--epoch_num 1 --valid_interval 0 --save_dir one");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = test::run_shell("torchrun --nproc_per_node=2 " + flags + "--master_addr 127.0.0.1 --master_port " +
                          std::to_string(port) + " --no_python '" MVTAG_BINARY "' " + kRun +
                          "--epoch_num 1 --valid_interval 0 --save_dir two",
                      dir_.path());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out + r.err, "data parallel: 2 ranks (gloo)")) << r.out << r.err;
  EXPECT_LE(max_weight_difference(dir_.file("one/last/model.safetensors"), dir_.file("two/last/model.safetensors")),
            1e-5);
}
