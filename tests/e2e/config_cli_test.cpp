// The configuration options of the verbs, through the real binary.
#include <gtest/gtest.h>

#include "cli_runner.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/config/config.h"
#include "mvtag/core/config/flags.h"

using mvtag::test::CliResult;
using mvtag::test::contains;
using mvtag::test::run_mvtag;
using mvtag::test::TempDir;

namespace {

const std::string kShipped = MVTAG_SOURCE_DIR "/conf/conf.txt";

}  // namespace

TEST(ConfigCli, DumpConfigPrintsEveryKeyAndReadsBack) {
  const CliResult r = run_mvtag("train --conf '" + kShipped + "' --dump-config");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& key : mvtag::config_keys()) {
    EXPECT_TRUE(contains(r.out, "\n" + key.name + " = ")) << key.full_name();
  }
  EXPECT_TRUE(contains(r.out, "\nnum_classes = 110\n"));
  EXPECT_TRUE(contains(r.out, "\nlearning_rate = 0.0007\n"));
  EXPECT_TRUE(mvtag::parse_config(r.out, "dump") == mvtag::load_config(kShipped));
}

TEST(ConfigCli, ReadsConfConfTxtByDefaultAndTakesConfigAsAlias) {
  const CliResult plain = run_mvtag("infer --dump-config");
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out.rfind("# Effective mvtag configuration (read from conf/conf.txt)\n", 0), 0u) << plain.out;
  const CliResult alias = run_mvtag("eval --config '" + kShipped + "' --dump-config");
  ASSERT_EQ(alias.exit_code, 0) << alias.err;
  EXPECT_TRUE(contains(alias.out, "(read from " + kShipped + ")"));
}

TEST(ConfigCli, WarnsAboutKeysWithoutEffectOnStderr) {
  const CliResult r = run_mvtag("export --dump-config");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "conf/conf.txt:47: key 'TEST.batch_size' has no effect in mvtag"));
  EXPECT_FALSE(contains(r.out, "has no effect"));
}

TEST(ConfigCli, BadOverrideExitsWithTwoNamingTheKey) {
  const CliResult r = run_mvtag("train --conf '" + kShipped + "' --set TRAIN.epoch=abc");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "key 'TRAIN.epoch': expected int, got 'abc'")) << r.err;
  const CliResult unknown = run_mvtag("eval --set VALID.batchsize=3");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.err;
  EXPECT_TRUE(contains(unknown.err, "did you mean 'batch_size'?")) << unknown.err;
}

TEST(ConfigCli, UnknownKeyInAFileExitsWithTwoNamingFileAndLine) {
  TempDir dir("config_cli");
  std::string text = mvtag::read_file(kShipped);
  text.insert(text.find('\n') + 1, "lstm_size_im = 3\n");
  const std::string path = dir.file("bad.conf");
  mvtag::write_file_atomic(path, text);
  const CliResult r = run_mvtag("train --conf '" + path + "'");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, path + ":2: key 'MODEL.lstm_size_im': unknown key 'lstm_size_im' in [MODEL]; did "
                                     "you mean 'lstm_size_img'?"))
      << r.err;
  const CliResult missing = run_mvtag("infer --conf '" + dir.file("absent.conf") + "'");
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  EXPECT_TRUE(contains(missing.err, "absent.conf: configuration file not found")) << missing.err;
}

TEST(ConfigCli, UseGpuFalseReallyIsFalse) {
  for (const std::string word : {"false", "False", "0", "no"}) {
    const CliResult r = run_mvtag("train --use_gpu " + word + " --dump-config");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "\nuse_gpu = False\n")) << word;
  }
  EXPECT_TRUE(contains(run_mvtag("eval --set TRAIN.use_gpu=False --use_gpu yes --dump-config").out,
                       "\nuse_gpu = True\n"));
  EXPECT_EQ(run_mvtag("infer --use_gpu maybe").exit_code, 2);
}

TEST(ConfigCli, FlagsWinOverSetWhichWinsOverTheFile) {
  const CliResult r = run_mvtag(
      "train --set TRAIN.batch_size=8 --set VALID.batch_size=2 --batch_size 4 --set TRAIN.epoch=3 "
      "--epoch_num 7 --learning_rate 0.01 --dump-config");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "\n[TRAIN]\nepoch = 7\nlearning_rate = 0.01\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "\nbatch_size = 4\nuse_gpu = True\n")) << r.out;  // TRAIN
  EXPECT_TRUE(contains(r.out, "\n[VALID]\nbatch_size = 4\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "\n[INFER]\nbatch_size = 64\n")) << r.out;

  const CliResult set_only = run_mvtag("train --set VALID.batch_size=2 --epoch_num 0 --dump-config");
  EXPECT_TRUE(contains(set_only.out, "\n[VALID]\nbatch_size = 2\n")) << set_only.out;
  EXPECT_TRUE(contains(set_only.out, "\n[TRAIN]\nepoch = 30\n")) << set_only.out;

  const CliResult eval = run_mvtag("eval --batch_size 3 --dump-config");
  EXPECT_TRUE(contains(eval.out, "\n[VALID]\nbatch_size = 3\n")) << eval.out;
  EXPECT_TRUE(contains(eval.out, "\nbatch_size = 64\nuse_gpu = True\n")) << eval.out;
  const CliResult infer = run_mvtag("infer --batch_size 5 --dump-config");
  EXPECT_TRUE(contains(infer.out, "\n[INFER]\nbatch_size = 5\n")) << infer.out;
}

TEST(ConfigCli, BadFlagsExitWithTwo) {
  const CliResult unknown = run_mvtag("train --no_such_flag");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.err;
  EXPECT_TRUE(contains(unknown.err, "--no_such_flag")) << unknown.err;
  const CliResult zero = run_mvtag("train --batch_size 0");
  EXPECT_EQ(zero.exit_code, 2) << zero.err;
  EXPECT_TRUE(contains(zero.err, "--batch_size: key 'TRAIN.batch_size': must be at least 1, got 0")) << zero.err;
  EXPECT_EQ(run_mvtag("train --batch_size abc").exit_code, 2);
  EXPECT_EQ(run_mvtag("train --epoch_num -1").exit_code, 2);
  EXPECT_EQ(run_mvtag("eval --learning_rate 0.1").exit_code, 2);  // a training flag
  EXPECT_EQ(run_mvtag("export --batch_size 4").exit_code, 2);     // export has no batches
}

TEST(ConfigCli, EveryVerbRegistersItsFlagsFromTheTable) {
  for (const auto& verb : mvtag::flag_verbs()) {
    const CliResult help = run_mvtag(verb + " --help");
    ASSERT_EQ(help.exit_code, 0) << verb << ": " << help.err;
    for (const mvtag::FlagSpec* flag : mvtag::flags_for(verb)) {
      for (const auto& name : flag->names) EXPECT_TRUE(contains(help.out, name)) << verb << " " << name;
    }
  }
  // Run options show their defaults: TrainOptions' initial values.
  const CliResult train = run_mvtag("train --help");
  EXPECT_TRUE(contains(train.out, "--save_dir DIR=checkpoints")) << train.out;
  EXPECT_TRUE(contains(train.out, "--log_interval N:NONNEGATIVE=10")) << train.out;
  EXPECT_TRUE(contains(train.out, "--conf,--config FILE=conf/conf.txt")) << train.out;
  EXPECT_EQ(run_mvtag("train --max-steps -1").exit_code, 2);
  EXPECT_EQ(run_mvtag("train --valid_interval -1").exit_code, 2);
}
