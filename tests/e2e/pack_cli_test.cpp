// mvtag pack through the binary: training from a pack gives the same weights as training from the
// .pkl files, infer reads a pack, and bad input is reported.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "small_job.h"
#include "mvtag/core/base/io.h"

using namespace mvtag;
using mvtag::test::CliResult;
using mvtag::test::contains;
using mvtag::test::run_mvtag;
using mvtag::test::TempDir;

TEST(PackCli, TrainingFromAPackGivesTheWeightsOfTrainingFromThePickles) {
  TempDir dir("pack_cli");
  ASSERT_NO_FATAL_FAILURE(test::write_small_job(dir));
  const auto mvtag = [&](const std::string& args) { return run_mvtag(args, dir.path()); };
  CliResult r = mvtag("pack --list data/train.txt --features data/feature_files --rgb_dim 16 --audio_dim 8 -o train.mvpack");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "packed 24 of 24 videos into train.mvpack")) << r.out;
  r = mvtag("pack --list data/val.txt --features data/feature_files --rgb_dim 16 --audio_dim 8 -o val.mvpack "
            "--dtype float16");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "float16")) << r.out;

  r = mvtag("train --conf conf.txt --save_dir from_files --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = mvtag("train --conf conf.txt --save_dir from_pack --threads 1 --set TRAIN.filelist=train.mvpack");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_file(dir.file("from_files/last/model.safetensors")),
            read_file(dir.file("from_pack/last/model.safetensors")));

  // infer from a float16 pack: every video tagged, with probabilities close to the files'.
  r = mvtag("infer --conf conf.txt --model from_files/last -o files.json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = mvtag("infer --conf conf.txt --model from_files/last -o pack.json --set INFER.filelist=val.mvpack");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "8 videos")) << r.err;
  const auto files = nlohmann::json::parse(read_file(dir.file("files.json")));
  const auto packed = nlohmann::json::parse(read_file(dir.file("pack.json")));
  ASSERT_EQ(files.size(), 8u);
  ASSERT_EQ(packed.size(), files.size());
  for (std::size_t i = 0; i < files.size(); ++i) EXPECT_EQ(packed[i]["video_id"], files[i]["video_id"]) << i;
}

TEST(PackCli, BadInputIsReportedAndNothingHalfWrittenIsLeft) {
  TempDir dir("pack_cli_bad");
  ASSERT_NO_FATAL_FAILURE(test::write_small_job(dir));
  const auto mvtag = [&](const std::string& args) { return run_mvtag(args, dir.path()); };
  // Two videos lose their features: packed anyway, each named, counts in the summary.
  const std::string list = read_file(dir.file("data/train.txt"));
  const std::string first = list.substr(0, list.find('.'));
  write_file_atomic(dir.file("data/feature_files/" + first + ".pkl"), "garbage");
  CliResult r = mvtag("pack --list data/train.txt --features data/feature_files --rgb_dim 16 --audio_dim 8 -o t.mvpack");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "packed 23 of 24")) << r.out;
  EXPECT_TRUE(contains(r.out, "1 unreadable")) << r.out;
  EXPECT_TRUE(contains(r.err, first)) << r.err;
  // Wrong widths for every video: an error, exit 1, no pack.
  r = mvtag("pack --list data/val.txt --features data/feature_files -o w.mvpack");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "no video of the list could be packed")) << r.err;
  EXPECT_FALSE(path_exists(dir.file("w.mvpack")));
  r = mvtag("pack --list data/val.txt --features data/feature_files -o x.mvpack --dtype int4");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "--dtype")) << r.err;
  // A truncated pack named as the feature source: the error names it.
  write_file_atomic(dir.file("cut.mvpack"), read_file(dir.file("t.mvpack")).substr(0, 100));
  r = mvtag("train --conf conf.txt --save_dir cut --set TRAIN.filelist=cut.mvpack");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.err, "cut.mvpack")) << r.err;
}
