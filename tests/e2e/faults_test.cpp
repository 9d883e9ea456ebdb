// Disk and permission faults, through the binary (docs/ROBUSTNESS.md): a disk that fills while a
// checkpoint or output.json is written (RLIMIT_FSIZE set by the shell, with SIGXFSZ ignored, so
// that write() fails with EFBIG as on a full disk), a write-protected --save_dir, and a second
// `train` on a --save_dir that another one is using.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "cli_runner.h"
#include "mvtag/core/base/io.h"
#include "small_job.h"
#include "test_util.h"

namespace mvtag::test {
namespace {

namespace fs = std::filesystem;

// The shell text that runs the binary with files limited to `blocks` x 512 bytes.
std::string file_size_limit(int blocks) { return "trap '' XFSZ; ulimit -f " + std::to_string(blocks) + ";"; }

std::vector<std::string> leftovers(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.find(".tmp.") != std::string::npos || name.find(".old.") != std::string::npos) out.push_back(name);
  }
  return out;
}

class Faults : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>("faults");
    write_small_job(*dir_);
  }
  CliResult mvtag(const std::string& args, const std::string& before = "") {
    return run_mvtag(args, dir_->path(), before);
  }
  std::string file(const std::string& name) const { return dir_->file(name); }
  std::unique_ptr<TempDir> dir_;
};

TEST_F(Faults, FullDiskDuringACheckpointFailsNamingTheFileAndKeepsThePreviousCheckpoint) {
  CliResult r = mvtag("train --conf conf.txt --save_dir run --threads 1 --log-level warn");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string weights = read_file(file("run/last/model.safetensors"));
  const std::string state = read_file(file("run/last/state.json"));
  const std::string best = read_file(file("run/best/model.safetensors"));
  ASSERT_GT(weights.size(), 64u * 512u) << "the limit below must lie under the checkpoint's size";

  r = mvtag("train --conf conf.txt --save_dir run --threads 1 --log-level warn", file_size_limit(64));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "model.safetensors")) << r.err;
  EXPECT_TRUE(contains(r.err, "File too large")) << r.err;
  EXPECT_EQ(read_file(file("run/last/model.safetensors")), weights);
  EXPECT_EQ(read_file(file("run/last/state.json")), state);
  EXPECT_EQ(read_file(file("run/best/model.safetensors")), best);
  EXPECT_EQ(leftovers(file("run")), std::vector<std::string>{});
}

TEST_F(Faults, FullDiskDuringOutputJsonFailsNamingItAndKeepsThePreviousOne) {
  CliResult r = mvtag("train --conf conf.txt --save_dir run --threads 1 --log-level warn");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = mvtag("infer --conf conf.txt --model run/best --output out.json --threshold 0 --log-level warn");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string previous = read_file(file("out.json"));
  ASSERT_GT(previous.size(), 2u * 512u) << "the limit below must lie under output.json's size";

  r = mvtag("infer --conf conf.txt --model run/best --output out.json --threshold 0 --log-level warn",
            file_size_limit(2));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, file("out.json")) || contains(r.err, "out.json:")) << r.err;
  EXPECT_TRUE(contains(r.err, "File too large")) << r.err;
  EXPECT_EQ(read_file(file("out.json")), previous);
  EXPECT_EQ(leftovers(dir_->path()), std::vector<std::string>{});
}

TEST_F(Faults, AnUnwritableOutputIsRefusedBeforeTheWork) {
  CliResult r = mvtag("train --conf conf.txt --save_dir run --threads 1 --log-level warn");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  write_file_atomic(dir_->file("plain_file"), "x");
  r = mvtag("infer --conf conf.txt --model run/best --output plain_file/out.json");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "--output cannot be written")) << r.err;
  EXPECT_FALSE(contains(r.err, "infer 8/8")) << "refused only after tagging: " << r.err;
  r = mvtag("eval --conf conf.txt --model run/best --json plain_file/m.json");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "--json cannot be written")) << r.err;
  r = mvtag("export --conf conf.txt --model run/best --output plain_file/model");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "--output cannot be written")) << r.err;
}

TEST_F(Faults, WriteProtectedSaveDirIsRefusedBeforeTraining) {
  fs::create_directories(file("run"));
  fs::permissions(file("run"), fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                                   fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  // Root ignores permission bits: run the binary as the unprivileged user `nobody` then, which
  // needs to read the job's files.
  std::string before;
  if (::geteuid() == 0) {
    if (!fs::exists("/usr/bin/setpriv")) GTEST_SKIP() << "running as root without setpriv(1) to drop privileges";
    for (const auto& e : fs::recursive_directory_iterator(dir_->path())) {
      if (e.path() != file("run")) {
        fs::permissions(e.path(), fs::perms::others_read | (e.is_directory() ? fs::perms::others_exec : fs::perms::none),
                        fs::perm_options::add);
      }
    }
    fs::permissions(dir_->path(), fs::perms::others_read | fs::perms::others_exec, fs::perm_options::add);
    before = "setpriv --reuid=65534 --regid=65534 --clear-groups";
  }
  const CliResult r = mvtag("train --conf conf.txt --save_dir run --threads 1", before);
  fs::permissions(file("run"), fs::perms::owner_all, fs::perm_options::add);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "run: the output directory is not writable: Permission denied")) << r.err;
  EXPECT_FALSE(contains(r.err, "training on")) << r.err;  // refused before the data and the model
  EXPECT_TRUE(fs::is_empty(file("run")));
}

TEST_F(Faults, SecondTrainOnTheSameSaveDirIsRefusedNamingTheLockAndThePid) {
  BackgroundMvtag first("train --conf conf.txt --save_dir run --threads 1 --set TRAIN.epoch=100000", dir_->path());
  ASSERT_TRUE(first.started());
  // The lock file holds the first run's pid once it holds the lock.
  std::string pid;
  for (int i = 0; i < 600 && pid.empty(); ++i) {
    if (fs::exists(file("run/train.lock"))) pid = read_file(file("run/train.lock"));
    if (pid.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(pid.empty()) << first.err_so_far();
  pid.pop_back();  // "\n"

  CliResult r = mvtag("train --conf conf.txt --save_dir run --threads 1");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "run/train.lock: another process (pid " + pid + ") is writing into run")) << r.err;
  EXPECT_FALSE(contains(r.err, "training on")) << r.err;

  // Killed without a chance to clean up, the first run leaves the lock file but not the lock.
  first.signal(SIGKILL);
  first.finish();
  r = mvtag("train --conf conf.txt --save_dir run --threads 1 --set TRAIN.epoch=1");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace mvtag::test
