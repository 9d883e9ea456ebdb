// Request bodies of `mvtag serve` (core/serve/request.h): the three body shapes, nested and
// base64 features (values computed by hand / with Python's struct + base64), and each refusal
// naming the field at fault.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "mvtag/core/base/error.h"
#include "mvtag/core/serve/request.h"
#include "test_util.h"

using namespace mvtag;
using nlohmann::json;

namespace {

RequestLimits small_limits() {
  RequestLimits l;
  l.rgb_dim = 2;
  l.audio_dim = 2;
  l.max_frames = 3;
  l.max_videos = 2;
  return l;
}

json video(const std::string& id = "v1") {
  return {{"video_id", id}, {"title", "a title"}, {"image", {{1, 2}, {3, 4}}}, {"audio", {{0.5, -0.5}}}};
}

// The error of parsing `body`, expected to name `field`.
Error refused(const std::string& body, const std::string& field, const RequestLimits& limits = small_limits()) {
  Error e = test::thrown_error([&] { parse_tag_request(body, limits); }, ErrorKind::Data);
  EXPECT_EQ(e.where().key, field) << e.what();
  return e;
}

}  // namespace

TEST(ServeRequest, OneVideoObjectIsASingleRequest) {
  const TagRequest r = parse_tag_request(video().dump(), small_limits());
  EXPECT_TRUE(r.single);
  ASSERT_EQ(r.videos.size(), 1u);
  const VideoInput& v = r.videos[0];
  EXPECT_EQ(v.video_id, "v1");
  EXPECT_EQ(v.title, "a title");
  EXPECT_EQ(v.image.rows, 2);
  EXPECT_EQ(v.image.cols, 2);
  EXPECT_EQ(v.image.data, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(v.audio.rows, 1);
  EXPECT_EQ(v.audio.data, (std::vector<float>{0.5f, -0.5f}));
  EXPECT_FALSE(r.threshold.has_value());
  EXPECT_FALSE(r.top_k.has_value());
}

TEST(ServeRequest, AnArrayAndAVideosObjectAreLists) {
  const TagRequest a = parse_tag_request(json::array({video("a"), video("b")}).dump(), small_limits());
  EXPECT_FALSE(a.single);
  ASSERT_EQ(a.videos.size(), 2u);
  EXPECT_EQ(a.videos[1].video_id, "b");

  const TagRequest b =
      parse_tag_request(json{{"videos", {video("x")}}, {"threshold", 0.25}, {"top_k", 3}}.dump(), small_limits());
  EXPECT_FALSE(b.single);
  ASSERT_EQ(b.videos.size(), 1u);
  EXPECT_DOUBLE_EQ(*b.threshold, 0.25);
  EXPECT_EQ(*b.top_k, 3);
}

TEST(ServeRequest, NumericVideoIdsAreKeptAsText) {
  json v = video();
  v["video_id"] = 12345;
  EXPECT_EQ(parse_tag_request(v.dump(), small_limits()).videos[0].video_id, "12345");
}

TEST(ServeRequest, Base64Float32AndFloat16) {
  RequestLimits l = small_limits();
  json v = video();
  // struct.pack('<4f', 1, 2, -3.5, 0.25)
  v["image"] = {{"base64", "AACAPwAAAEAAAGDAAACAPg=="}, {"dtype", "float32"}, {"shape", {2, 2}}};
  // struct.pack('<4e', 1, -2, 0.5, 65504)
  v["audio"] = {{"base64", "ADwAwAA4/3s="}, {"dtype", "float16"}, {"shape", {2, 2}}};
  const VideoInput in = parse_tag_request(v.dump(), l).videos[0];
  EXPECT_EQ(in.image.data, (std::vector<float>{1, 2, -3.5f, 0.25f}));
  EXPECT_EQ(in.audio.data, (std::vector<float>{1, -2, 0.5f, 65504}));
  // dtype defaults to float32
  v["image"].erase("dtype");
  EXPECT_EQ(parse_tag_request(v.dump(), l).videos[0].image.data, (std::vector<float>{1, 2, -3.5f, 0.25f}));
}

TEST(ServeRequest, EmptyAudioBecomesTenZeroRowsAsInPklFiles) {
  json v = video();
  v["audio"] = json::array();
  const VideoInput in = parse_tag_request(v.dump(), small_limits()).videos[0];
  EXPECT_EQ(in.audio.rows, kEmptyAudioRows);
  EXPECT_EQ(in.audio.cols, 2);
  EXPECT_EQ(in.audio.data, std::vector<float>(20, 0.0f));
  v["audio"] = {{"base64", ""}, {"shape", {0, 2}}};
  EXPECT_EQ(parse_tag_request(v.dump(), small_limits()).videos[0].audio.rows, kEmptyAudioRows);
}

TEST(ServeRequest, MalformedJsonNamesTheBody) {
  const Error e = refused("{\"video_id\": ", "body");
  test::expect_message_contains(e, {"malformed JSON"});
  refused("NaN", "body");
  refused("[1, 2", "body");
}

TEST(ServeRequest, EachMissingOrMistypedFieldIsNamed) {
  for (const char* key : {"video_id", "title", "image", "audio"}) {
    json v = video();
    v.erase(key);
    SCOPED_TRACE(key);
    refused(v.dump(), key);
  }
  json v = video();
  v["title"] = 7;
  refused(v.dump(), "title");
  v = video();
  v["image"] = "pixels";
  refused(v.dump(), "image");
  v = video();
  v["colour"] = 1;
  refused(v.dump(), "colour");
  refused("42", "body");
  refused("[]", "body");
  refused(json{{"videos", json::array()}}.dump(), "videos");
  refused(json{{"videos", {video()}}, {"extra", 1}}.dump(), "extra");
  json inner = video();
  inner["threshold"] = 0.5;
  refused(json::array({inner}).dump(), "[0]");
}

TEST(ServeRequest, AnEmptyTitleIsRefused) {
  json v = video();
  v["title"] = "  ";
  test::expect_message_contains(refused(v.dump(), "title"), {"must not be empty"});
  v["title"] = "";
  refused(json{{"videos", {video("a"), v}}}.dump(), "videos[1].title");
}

TEST(ServeRequest, WrongWidthsAndShapesNameTheFrame) {
  json v = video();
  v["image"] = {{1, 2}, {3, 4, 5}};
  test::expect_message_contains(refused(v.dump(), "image[1]"), {"2 wide", "got 3"});
  v = video();
  v["image"] = {{1, 2}, "x"};
  refused(v.dump(), "image[1]");
  v = video();
  v["image"] = {{1, "2"}};
  refused(v.dump(), "image[0][1]");
  v = video();
  v["image"] = json::array();
  test::expect_message_contains(refused(v.dump(), "image"), {"at least one frame"});
  v = video();
  v["image"] = {{"base64", "AACAPwAAAEA="}, {"shape", {1, 3}}};
  refused(v.dump(), "image");
  v["image"] = {{"base64", "AACAPwAAAEA="}, {"shape", {2, 2}}};  // 8 bytes for 16
  test::expect_message_contains(refused(v.dump(), "image.base64"), {"8 bytes", "needs 16"});
  v["image"] = {{"base64", "AACAPwAAAEA="}, {"shape", {1, 2}}, {"dtype", "float64"}};
  refused(v.dump(), "image.dtype");
  v["image"] = {{"base64", "AACAPwAAAEA="}};
  refused(v.dump(), "image.shape");
  v["image"] = {{"base64", "AACA*wAAAEA="}, {"shape", {1, 2}}};
  test::expect_message_contains(refused(v.dump(), "image.base64"), {"not base64", "'*'"});
  v["image"] = {{"base64", "AACAPwAAAEA="}, {"shape", {-1, 2}}};
  refused(v.dump(), "image.shape");
}

TEST(ServeRequest, NaNAndInfinityAreRefusedWhereTheyAre) {
  json v = video();
  v["image"] = {{"base64", "AADAfwAAgD8="}, {"shape", {1, 2}}};  // struct.pack('<2f', nan, 1)
  test::expect_message_contains(refused(v.dump(), "image[0][0]"), {"NaN"});
  v = video();
  v["audio"] = {{0.5, 1e39}};  // beyond float32
  refused(v.dump(), "audio[0][1]");
}

TEST(ServeRequest, LimitsOnFramesVideosAndTitles) {
  json v = video();
  v["image"] = {{1, 2}, {1, 2}, {1, 2}, {1, 2}};
  test::expect_message_contains(refused(v.dump(), "image"), {"4 frames", "limit of 3", "--max-frames"});
  v["image"] = {{"base64", ""}, {"shape", {1000000000, 2}}};  // a huge shape asks for nothing
  refused(v.dump(), "image");
  test::expect_message_contains(refused(json::array({video(), video(), video()}).dump(), "body"),
                                {"3 videos", "limit of 2"});
  RequestLimits l = small_limits();
  l.max_title_bytes = 4;
  refused(video().dump(), "title", l);
}

TEST(ServeRequest, ThresholdAndTopKAreChecked) {
  json b = {{"videos", {video()}}, {"threshold", 1.5}};
  refused(b.dump(), "threshold");
  b = {{"videos", {video()}}, {"top_k", -1}};
  refused(b.dump(), "top_k");
  b = {{"videos", {video()}}, {"top_k", 1.5}};
  refused(b.dump(), "top_k");
  EXPECT_DOUBLE_EQ(parse_threshold("0.3", "threshold"), 0.3);
  EXPECT_EQ(parse_top_k("5", "top_k"), 5);
  for (const char* bad : {"", "x", "0.3x", "-0.1", "nan", "2"}) {
    SCOPED_TRACE(bad);
    test::thrown_error([&] { parse_threshold(bad, "threshold"); }, ErrorKind::Data);
  }
  for (const char* bad : {"", "-1", "1.5", "k"}) {
    SCOPED_TRACE(bad);
    test::thrown_error([&] { parse_top_k(bad, "top_k"); }, ErrorKind::Data);
  }
}

TEST(ServeRequest, Base64RoundTripsAndMatchesRfc4648) {
  EXPECT_EQ(encode_base64("M"), "TQ==");
  EXPECT_EQ(encode_base64("Ma"), "TWE=");
  EXPECT_EQ(encode_base64("Man"), "TWFu");
  EXPECT_EQ(decode_base64("TQ==", "f"), "M");
  EXPECT_EQ(decode_base64("TWE", "f"), "Ma");  // padding is optional
  EXPECT_EQ(decode_base64("TWFu", "f"), "Man");
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(decode_base64(encode_base64(all), "f"), all);
  test::thrown_error([] { decode_base64("TWFuT", "f"); }, ErrorKind::Data);
  test::thrown_error([] { decode_base64("TW=u", "f"); }, ErrorKind::Data);
}
