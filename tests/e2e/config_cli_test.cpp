// The configuration options of the verbs, through the real binary.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "mvtag/config.h"
#include "mvtag/io.h"

namespace {

const std::string kShipped = MVTAG_SOURCE_DIR "/conf/conf.txt";

struct Result {
  int exit_code = -1;
  std::string output;
};

// Runs mvtag with `args` (shell syntax) in `dir`; keeps stdout, and stderr too when asked.
Result run_mvtag(const std::string& args, bool with_stderr = true, const std::string& dir = MVTAG_SOURCE_DIR) {
  const std::string command =
      "cd '" + dir + "' && '" MVTAG_BINARY "' " + args + (with_stderr ? " 2>&1" : " 2>/dev/null");
  Result r;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return r;
  char buffer[4096];
  std::size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) r.output.append(buffer, n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class TempDir {
 public:
  TempDir()
      : path_(std::filesystem::temp_directory_path() / ("mvtag_config_cli_" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace

TEST(ConfigCli, DumpConfigPrintsEveryKeyAndReadsBack) {
  const Result r = run_mvtag("train --conf '" + kShipped + "' --dump-config", false);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const auto& key : mvtag::config_keys()) {
    EXPECT_TRUE(contains(r.output, "\n" + key.name + " = ")) << key.full_name();
  }
  EXPECT_TRUE(contains(r.output, "\nnum_classes = 110\n"));
  EXPECT_TRUE(contains(r.output, "\nlearning_rate = 0.0007\n"));
  EXPECT_TRUE(mvtag::parse_config(r.output, "dump") == mvtag::load_config(kShipped));
}

TEST(ConfigCli, ReadsConfConfTxtByDefaultAndTakesConfigAsAlias) {
  const Result plain = run_mvtag("infer --dump-config", false);
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  EXPECT_EQ(plain.output.rfind("# Effective mvtag configuration (read from conf/conf.txt)\n", 0), 0u) << plain.output;
  const Result alias = run_mvtag("eval --config '" + kShipped + "' --dump-config", false);
  ASSERT_EQ(alias.exit_code, 0) << alias.output;
  EXPECT_TRUE(contains(alias.output, "(read from " + kShipped + ")"));
}

TEST(ConfigCli, WarnsAboutKeysWithoutEffectOnStderr) {
  const Result r = run_mvtag("export --dump-config");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "conf/conf.txt:47: key 'TEST.batch_size' has no effect in mvtag"));
  EXPECT_FALSE(contains(run_mvtag("export --dump-config", false).output, "has no effect"));
}

TEST(ConfigCli, BadOverrideExitsWithTwoNamingTheKey) {
  const Result r = run_mvtag("train --conf '" + kShipped + "' --set TRAIN.epoch=abc");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "key 'TRAIN.epoch': expected int, got 'abc'")) << r.output;
  const Result unknown = run_mvtag("eval --set VALID.batchsize=3");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.output;
  EXPECT_TRUE(contains(unknown.output, "did you mean 'batch_size'?")) << unknown.output;
}

TEST(ConfigCli, UnknownKeyInAFileExitsWithTwoNamingFileAndLine) {
  TempDir dir;
  std::string text = mvtag::read_file(kShipped);
  text.insert(text.find('\n') + 1, "lstm_size_im = 3\n");
  const std::string path = dir.file("bad.conf");
  mvtag::write_file_atomic(path, text);
  const Result r = run_mvtag("train --conf '" + path + "'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, path + ":2: key 'MODEL.lstm_size_im': unknown key 'lstm_size_im' in [MODEL]; did "
                                        "you mean 'lstm_size_img'?"))
      << r.output;
  const Result missing = run_mvtag("infer --conf '" + dir.file("absent.conf") + "'");
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_TRUE(contains(missing.output, "absent.conf: configuration file not found")) << missing.output;
}

TEST(ConfigCli, UseGpuFalseReallyIsFalse) {
  for (const std::string word : {"false", "False", "0", "no"}) {
    const Result r = run_mvtag("train --use_gpu " + word + " --dump-config", false);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "\nuse_gpu = False\n")) << word;
  }
  EXPECT_TRUE(contains(run_mvtag("eval --set TRAIN.use_gpu=False --use_gpu yes --dump-config", false).output,
                       "\nuse_gpu = True\n"));
  EXPECT_EQ(run_mvtag("infer --use_gpu maybe").exit_code, 2);
}

TEST(ConfigCli, FlagsWinOverSetWhichWinsOverTheFile) {
  const Result r = run_mvtag("train --set TRAIN.batch_size=8 --set VALID.batch_size=2 --batch_size 4 --set TRAIN.epoch=3 "
                         "--epoch_num 7 --learning_rate 0.01 --dump-config",
                         false);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "\n[TRAIN]\nepoch = 7\nlearning_rate = 0.01\n")) << r.output;
  EXPECT_TRUE(contains(r.output, "\nbatch_size = 4\nuse_gpu = True\n")) << r.output;  // TRAIN
  EXPECT_TRUE(contains(r.output, "\n[VALID]\nbatch_size = 4\n")) << r.output;
  EXPECT_TRUE(contains(r.output, "\n[INFER]\nbatch_size = 64\n")) << r.output;

  const Result set_only = run_mvtag("train --set VALID.batch_size=2 --epoch_num 0 --dump-config", false);
  EXPECT_TRUE(contains(set_only.output, "\n[VALID]\nbatch_size = 2\n")) << set_only.output;
  EXPECT_TRUE(contains(set_only.output, "\n[TRAIN]\nepoch = 30\n")) << set_only.output;

  const Result eval = run_mvtag("eval --batch_size 3 --dump-config", false);
  EXPECT_TRUE(contains(eval.output, "\n[VALID]\nbatch_size = 3\n")) << eval.output;
  EXPECT_TRUE(contains(eval.output, "\nbatch_size = 64\nuse_gpu = True\n")) << eval.output;
  const Result infer = run_mvtag("infer --batch_size 5 --dump-config", false);
  EXPECT_TRUE(contains(infer.output, "\n[INFER]\nbatch_size = 5\n")) << infer.output;
}

TEST(ConfigCli, BadFlagsExitWithTwo) {
  const Result unknown = run_mvtag("train --no_such_flag");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.output;
  EXPECT_TRUE(contains(unknown.output, "--no_such_flag")) << unknown.output;
  const Result zero = run_mvtag("train --batch_size 0");
  EXPECT_EQ(zero.exit_code, 2) << zero.output;
  EXPECT_TRUE(contains(zero.output, "--batch_size: key 'TRAIN.batch_size': must be at least 1, got 0")) << zero.output;
  EXPECT_EQ(run_mvtag("train --batch_size abc").exit_code, 2);
  EXPECT_EQ(run_mvtag("train --epoch_num -1").exit_code, 2);
  EXPECT_EQ(run_mvtag("eval --learning_rate 0.1").exit_code, 2);  // a training flag
  EXPECT_EQ(run_mvtag("export --batch_size 4").exit_code, 2);     // export has no batches
}
