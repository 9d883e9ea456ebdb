// inspect_pickle_file: one pickle file as the JSON record `mvtag inspect` prints, with the
// feature summary, and errors returned rather than thrown.
#include "mvtag/core/data/pickle_inspect.h"

#include <gtest/gtest.h>

#include "test_util.h"

using namespace mvtag;
using Json = nlohmann::ordered_json;

namespace {

const std::string kDir = std::string(MVTAG_FIXTURES) + "/pickle/";

}  // namespace

TEST(PickleInspect, DescribesAFeatureFileWithItsSummary) {
  const InspectRecord r = inspect_pickle_file(kDir + "features_py2_proto2.pkl", 0);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.error, "");
  const Json expected = {
      {"file", kDir + "features_py2_proto2.pkl"},
      {"value",
       {{"video", "py2_video"},
        {"feature",
         {{"image_pkl", {{"dtype", "float32"}, {"shape", {3, 32}}}},
          {"audio_pkl", {{"dtype", "float32"}, {"shape", {2, 4}}}}}}}},
      {"summary", {{"video_id", "py2_video"}, {"rgb_shape", {3, 32}}, {"audio_shape", {2, 4}}, {"audio_was_empty", false}}},
  };
  EXPECT_EQ(r.json, expected) << r.json.dump();
}

TEST(PickleInspect, EmptyAudioShowsTheTenZeroRowsAndOtherPicklesGetNoSummary) {
  const InspectRecord empty = inspect_pickle_file(kDir + "features_empty_audio_2d.pkl", 0);
  EXPECT_TRUE(empty.ok);
  EXPECT_EQ(empty.json["summary"]["audio_shape"], (Json{10, 128}));
  EXPECT_EQ(empty.json["summary"]["audio_was_empty"], true);

  const InspectRecord misc = inspect_pickle_file(kDir + "misc_py3_proto5.pkl", 2);
  EXPECT_TRUE(misc.ok);
  EXPECT_FALSE(misc.json.contains("summary"));
  EXPECT_EQ(misc.json["value"]["arrays"]["i64"]["values"], (Json{-1099511627776LL, 4611686018427387904LL}));
}

TEST(PickleInspect, AFeatureRecordThatDoesNotLoadIsDescribedWithTheReason) {
  const InspectRecord r = inspect_pickle_file(kDir + "bad_nan_image.pkl", 0);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(mvtag::test::contains(r.error, "key 'feature.image_pkl': value at [1, 2] is NaN")) << r.error;
  EXPECT_EQ(r.json["summary"], (Json{{"error", r.error}}));
  EXPECT_EQ(r.json["file"], kDir + "bad_nan_image.pkl");
}

TEST(PickleInspect, UnreadableFilesReturnTheErrorAndNoRecord) {
  const InspectRecord missing = inspect_pickle_file(kDir + "no_such.pkl", 0);
  EXPECT_FALSE(missing.ok);
  EXPECT_TRUE(missing.json.is_null());
  EXPECT_TRUE(mvtag::test::contains(missing.error, kDir + "no_such.pkl")) << missing.error;

  const InspectRecord evil = inspect_pickle_file(kDir + "evil_os_system_proto0.pkl", 0);
  EXPECT_FALSE(evil.ok);
  EXPECT_TRUE(evil.json.is_null());
  EXPECT_TRUE(mvtag::test::contains(evil.error, kDir + "evil_os_system_proto0.pkl: byte 0 (GLOBAL): global 'os.system' "
                                                "is not allowed"))
      << evil.error;
}
