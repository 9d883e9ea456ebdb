// Which threshold and title length inference uses: --threshold > the configuration (file or
// --set) > the model's inference.json > the defaults.
#include <gtest/gtest.h>

#include "mvtag/core/config/config.h"
#include "mvtag/core/config/inference_settings.h"
#include "test_util.h"

using namespace mvtag;
using mvtag::test::TempDir;

namespace {
Config demo_conf(const std::vector<std::string>& overrides = {}) {
  return load_config(std::string(MVTAG_SOURCE_DIR) + "/conf/demo.txt", overrides);
}
}  // namespace

TEST(InferenceSettings, TheModelsFileAppliesWithoutAConfiguration) {
  TempDir dir;
  dir.write("inference.json", R"({"text_max_len": 32, "threshold": 0.25})");
  const auto r = resolve_inference_settings(nullptr, dir.path(), std::nullopt);
  EXPECT_EQ(r.values.threshold, 0.25);
  EXPECT_EQ(r.values.text_max_len, 32);
  EXPECT_EQ(r.threshold_from, dir.file("inference.json"));
  EXPECT_EQ(r.text_max_len_from, dir.file("inference.json"));
}

TEST(InferenceSettings, DefaultsWhenNeitherGivesThem) {
  TempDir dir;  // a checkpoint: no inference.json
  const auto r = resolve_inference_settings(nullptr, dir.path(), std::nullopt);
  EXPECT_EQ(r.values.threshold, 0.5);
  EXPECT_EQ(r.values.text_max_len, 50);
  EXPECT_EQ(r.threshold_from, "default");
}

TEST(InferenceSettings, TheConfigurationWinsOverTheModel) {
  TempDir dir;
  dir.write("inference.json", R"({"text_max_len": 32, "threshold": 0.25})");
  const Config file = demo_conf();
  auto r = resolve_inference_settings(&file, dir.path(), std::nullopt);
  EXPECT_EQ(r.values.threshold, file.infer.threshold);
  EXPECT_EQ(r.values.text_max_len, file.model.text_max_len);
  EXPECT_TRUE(test::contains(r.threshold_from, "conf/demo.txt:")) << r.threshold_from;

  const Config set = demo_conf({"INFER.threshold=0.9"});
  r = resolve_inference_settings(&set, dir.path(), std::nullopt);
  EXPECT_EQ(r.values.threshold, 0.9);
  EXPECT_TRUE(test::contains(r.threshold_from, "INFER.threshold=0.9")) << r.threshold_from;
}

TEST(InferenceSettings, TheFlagWinsOverEverything) {
  TempDir dir;
  dir.write("inference.json", R"({"text_max_len": 32, "threshold": 0.25})");
  const Config set = demo_conf({"INFER.threshold=0.9"});
  const auto r = resolve_inference_settings(&set, dir.path(), 0.0);
  EXPECT_EQ(r.values.threshold, 0.0);
  EXPECT_EQ(r.threshold_from, "--threshold");
}

TEST(InferenceSettings, AMalformedFileIsAnErrorNamingIt) {
  TempDir dir;
  dir.write("inference.json", R"({"text_max_len": "long"})");
  const Error e = test::thrown_error([&] { read_inference_settings(dir.path()); }, ErrorKind::Data);
  test::expect_message_contains(e, {"inference.json"});
  dir.write("inference.json", R"({"text_max_len": 20, "threshold": 1.5})");
  test::expect_message_contains(test::thrown_error([&] { read_inference_settings(dir.path()); }), {"out of range"});
}

TEST(InferenceSettings, PrecisionIsReadFromTheModelAndTheFlagWins) {
  TempDir dir;
  dir.write("inference.json", R"({"text_max_len": 32, "threshold": 0.25})");
  auto r = resolve_inference_settings(nullptr, dir.path(), std::nullopt);
  EXPECT_EQ(r.values.precision, Precision::Fp32);  // written before "precision" existed
  EXPECT_EQ(r.precision_from, dir.file("inference.json"));
  dir.write("inference.json", R"({"text_max_len": 32, "threshold": 0.25, "precision": "int8"})");
  r = resolve_inference_settings(nullptr, dir.path(), std::nullopt);
  EXPECT_EQ(r.values.precision, Precision::Int8);
  r = resolve_inference_settings(nullptr, dir.path(), std::nullopt, Precision::Bf16);
  EXPECT_EQ(r.values.precision, Precision::Bf16);
  EXPECT_EQ(r.precision_from, "--precision");
  TempDir empty;
  r = resolve_inference_settings(nullptr, empty.path(), std::nullopt);
  EXPECT_EQ(r.values.precision, Precision::Fp32);
  EXPECT_EQ(r.precision_from, "default");
}

TEST(InferenceSettings, AnUnknownPrecisionNamesTheFileAndKey) {
  TempDir dir;
  dir.write("inference.json", R"({"text_max_len": 32, "threshold": 0.25, "precision": "int4"})");
  const Error e = test::thrown_error([&] { read_inference_settings(dir.path()); }, ErrorKind::Data);
  test::expect_message_contains(e, {"inference.json", "precision", "int4", "fp32, int8 or bf16"});
  dir.write("inference.json", R"({"text_max_len": 32, "threshold": 0.25, "precision": 8})");
  test::thrown_error([&] { read_inference_settings(dir.path()); }, ErrorKind::Data);
}

TEST(Precision, ParsesItsThreeNamesAndNothingElse) {
  for (const Precision p : {Precision::Fp32, Precision::Int8, Precision::Bf16}) {
    EXPECT_EQ(parse_precision(to_string(p)), p);
  }
  EXPECT_EQ(to_string(Precision::Int8), "int8");
  for (const char* bad : {"", "FP32", "int4", "fp16", "bf16 ", "float32"}) {
    EXPECT_FALSE(parse_precision(bad).has_value()) << bad;
  }
}
