#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/report/prediction_writer.h"
#include "test_util.h"

using namespace mvtag;

TEST(SelectLabels, ThresholdIsInclusiveAndOrderIsByClassIndex) {
  const float p[5] = {0.2f, 0.9f, 0.5f, 0.49999f, 0.7f};
  EXPECT_EQ(select_labels(p, 5, {0.5, 0}), (std::vector<int>{1, 2, 4}));
  EXPECT_EQ(select_labels(p, 5, {0.95, 0}), (std::vector<int>{}));
}

TEST(SelectLabels, TopKKeepsTheMostProbableFirst) {
  const float p[5] = {0.2f, 0.9f, 0.5f, 0.9f, 0.7f};
  EXPECT_EQ(select_labels(p, 5, {0.5, 2}), (std::vector<int>{1, 3}));  // tie: lower index first
  EXPECT_EQ(select_labels(p, 5, {0.0, 3}), (std::vector<int>{1, 3, 4}));
  EXPECT_EQ(select_labels(p, 5, {0.8, 10}), (std::vector<int>{1, 3}));
}

TEST(PredictionWriter, JsonMatchesWhatPythonWrote) {
  // tests/fixtures/py_json/predictions.writer.expected.json was written by Python's
  // json.dump(indent=4, ensure_ascii=False) from the same two videos' data, as the original's
  // inference.py writes output.json (see tools/make_py_json_goldens.py). The whole file must match.
  PredictionWriter w(PredictionFormat::Json, {"拍人-帅哥", "x", "明星周边-其他明星周边"}, {0.5, 0});
  const float p1[3] = {0.9134563207626343f, 0.1f, 0.5f};
  const float p2[3] = {0.1f, 0.2f, 0.3f};
  w.add("18e9bf08a2fc7eaa4ee9215ab42ea827", p1);
  w.add("quote\"back\\slash\ttab\nnewline\x01" "ctl", p2);
  EXPECT_EQ(w.finish(), read_file(MVTAG_FIXTURES "/py_json/predictions.writer.expected.json"));
  EXPECT_EQ(w.count(), 2u);
}

TEST(PredictionWriter, EmptyOutputIsAnEmptyArray) {
  PredictionWriter w(PredictionFormat::Json, {"a"}, {});
  EXPECT_EQ(w.finish(), "[]");
}

TEST(PredictionWriter, JsonlHasOneObjectPerLine) {
  PredictionWriter w(PredictionFormat::Jsonl, {"a", "b"}, {0.5, 0});
  const float p[2] = {0.25f, 0.75f};
  w.add("v1", p);
  w.add("v2", p);
  EXPECT_EQ(w.finish(), "{\"video_id\": \"v1\", \"labels\": [[\"b\", 0.75]]}\n"
                        "{\"video_id\": \"v2\", \"labels\": [[\"b\", 0.75]]}\n");
}

TEST(PredictionWriter, UnknownFormatIsAUsageError) {
  EXPECT_EQ(mvtag::test::thrown_error([] { parse_prediction_format("xml"); }).exit_code(), 2);
}
