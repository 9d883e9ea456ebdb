// mvtag inspect through the real binary: JSON Lines on stdout, errors on stderr, exit codes,
// and malicious pickles refused without running anything.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_runner.h"

using mvtag::test::CliResult;
using mvtag::test::contains;
using mvtag::test::run_mvtag;

namespace {

const std::string kDir = std::string(MVTAG_FIXTURES) + "/pickle/";
const char* kPwned = "/tmp/mvtag_pwned";  // what the malicious fixtures would create

// Runs `mvtag inspect <args>` (shell syntax).
CliResult inspect(const std::string& args) { return run_mvtag("inspect " + args); }

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace

TEST(InspectCli, DescribesAFeatureFileAsJson) {
  const CliResult r = inspect("'" + kDir + "features_py2_proto2.pkl'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  const auto& j = lines[0];
  EXPECT_EQ(j["file"], kDir + "features_py2_proto2.pkl");
  EXPECT_EQ(j["value"]["video"], "py2_video");
  EXPECT_EQ(j["value"]["feature"]["image_pkl"], (nlohmann::json{{"dtype", "float32"}, {"shape", {3, 32}}}));
  EXPECT_EQ(j["value"]["feature"]["audio_pkl"], (nlohmann::json{{"dtype", "float32"}, {"shape", {2, 4}}}));
  EXPECT_EQ(j["summary"], (nlohmann::json{{"video_id", "py2_video"},
                                          {"rgb_shape", {3, 32}},
                                          {"audio_shape", {2, 4}},
                                          {"audio_was_empty", false}}));
}

TEST(InspectCli, PrintsLeadingValuesAndAnyPickle) {
  const CliResult r = inspect("--values 3 '" + kDir + "features_py3_proto4.pkl' '" + kDir + "misc_py3_proto5.pkl'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  // rgb = arange(24) * 0.25 - 2 (tools/make_pickle_fixtures.py)
  EXPECT_EQ(lines[0]["value"]["feature"]["image_pkl"]["values"], (nlohmann::json{-2.0, -1.75, -1.5}));
  const auto& misc = lines[1]["value"];
  EXPECT_FALSE(lines[1].contains("summary"));
  EXPECT_EQ(misc["max64"], 9223372036854775807LL);
  EXPECT_EQ(misc["text"], "h\xc3\xa9llo \xe4\xb8\xad\xe6\x96\x87");
  EXPECT_EQ(misc["bytes"], (nlohmann::json{{"bytes", 4}, {"hex", "00ff6162"}}));
  EXPECT_EQ(misc["1"], "int key");
  EXPECT_EQ(misc["arrays"]["i64"]["values"], (nlohmann::json{-1099511627776LL, 4611686018427387904LL}));
  EXPECT_EQ(misc["arrays"]["f32_3d_fortran"]["values"], (nlohmann::json{0.0, 1.0, 2.0}));
}

TEST(InspectCli, EmptyAudioSummaryShowsTheTenZeroRows) {
  const CliResult r = inspect("'" + kDir + "features_empty_audio_2d.pkl'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = json_lines(r.out).at(0);
  EXPECT_EQ(j["value"]["feature"]["audio_pkl"]["shape"], (nlohmann::json{0, 128}));
  EXPECT_EQ(j["summary"]["audio_shape"], (nlohmann::json{10, 128}));
  EXPECT_EQ(j["summary"]["audio_was_empty"], true);
}

TEST(InspectCli, RefusesMaliciousFilesRunsNothingAndGoesOn) {
  std::remove(kPwned);
  for (const auto& [file, global] : {std::pair<std::string, std::string>{"evil_os_system_proto0.pkl", "os.system"},
                                     {"evil_eval_proto4.pkl", "builtins.eval"},
                                     {"evil_popen_proto5.pkl", "subprocess.Popen"}}) {
    const CliResult r = inspect("'" + kDir + file + "' '" + kDir + "features_py3_proto2.pkl'");
    EXPECT_EQ(r.exit_code, 1) << file;
    EXPECT_TRUE(contains(r.err, kDir + file)) << r.err;
    EXPECT_TRUE(contains(r.err, "'" + global + "' is not allowed")) << r.err;
    const auto lines = json_lines(r.out);  // only the good file is described
    ASSERT_EQ(lines.size(), 1u) << r.out;
    EXPECT_EQ(lines[0]["summary"]["video_id"], "vid_proto2");
  }
  EXPECT_FALSE(std::filesystem::exists(kPwned)) << "a malicious pickle ran its command";
}

TEST(InspectCli, UnreadableAndInvalidFilesExitOne) {
  CliResult r = inspect("'" + kDir + "no_such.pkl'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_TRUE(contains(r.err, kDir + "no_such.pkl")) << r.err;

  r = inspect("'" + kDir + "err_truncated.pkl'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "truncated")) << r.err;

  // A readable feature file that does not load: described, with the reason, and exit 1.
  r = inspect("'" + kDir + "bad_nan_image.pkl'");
  EXPECT_EQ(r.exit_code, 1);
  const auto j = json_lines(r.out).at(0);
  EXPECT_TRUE(contains(j["summary"]["error"].get<std::string>(), "key 'feature.image_pkl': value at [1, 2] is NaN"));
  EXPECT_TRUE(contains(r.err, "NaN")) << r.err;

  r = inspect("");
  EXPECT_EQ(r.exit_code, 2) << "a missing FILE argument is a usage error";
}

TEST(InspectCli, ReadsStandardInput) {
  const CliResult r = inspect("- < '" + kDir + "features_int_id.pkl'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json_lines(r.out).at(0)["summary"]["video_id"], "12345");
}
