// Feature records (docs/FORMATS.md, "Feature files"): loading what numpy wrote, every rejection
// naming its key, the empty-audio rule, feature paths (the original's
// scenario_lib/datareader/feature_reader.py) and the Python 2-style writer.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/data/features.h"
#include "test_util.h"

using namespace mvtag;
using P = PickleValue;

namespace {

const std::string kDir = std::string(MVTAG_FIXTURES) + "/pickle/";

Error load_error(const std::string& name, std::int64_t rgb_dim = 0, std::int64_t audio_dim = 0) {
  SCOPED_TRACE(name);
  return mvtag::test::thrown_error([&] { load_video_features(kDir + name, rgb_dim, audio_dim); });
}

void expect_matrix(const FeatureMatrix& m, const nlohmann::json& facts) {
  const auto shape = facts["shape"].get<std::vector<std::int64_t>>();
  ASSERT_EQ(shape.size(), 2u);
  EXPECT_EQ(m.rows, shape[0]);
  EXPECT_EQ(m.cols, shape[1]);
  ASSERT_EQ(m.data.size(), static_cast<std::size_t>(m.rows * m.cols));
  double sum = 0.0;
  for (float v : m.data) sum += v;
  EXPECT_NEAR(sum, facts["sum"].get<double>(), 1e-9 * (1.0 + std::abs(sum)));
  const auto first = facts["first"].get<std::vector<double>>();
  for (std::size_t i = 0; i < first.size(); ++i) EXPECT_EQ(m.data[i], first[i]) << "value " << i;
}

// The record the fixture script's writer_demo_record() builds, with the same formulas.
VideoFeatures writer_demo(bool empty_audio) {
  VideoFeatures f;
  f.video_id = "writer_demo";
  f.rgb.rows = 2;
  f.rgb.cols = 6;
  for (int i = 0; i < 12; ++i) f.rgb.data.push_back(static_cast<float>(i) * 0.5f - 1.25f);
  f.audio.cols = 4;
  if (empty_audio) {
    f.audio.rows = kEmptyAudioRows;
    f.audio.data.assign(kEmptyAudioRows * 4, 0.0f);
    f.audio_was_empty = true;
  } else {
    f.audio.rows = 3;
    for (int r = 0; r < 3; ++r) {
      for (int c = 0; c < 4; ++c) f.audio.data.push_back(static_cast<float>(r - c) * 0.125f);
    }
  }
  return f;
}

void expect_same(const VideoFeatures& a, const VideoFeatures& b) {
  EXPECT_EQ(a.video_id, b.video_id);
  EXPECT_EQ(a.rgb.rows, b.rgb.rows);
  EXPECT_EQ(a.rgb.cols, b.rgb.cols);
  EXPECT_EQ(a.rgb.data, b.rgb.data);
  EXPECT_EQ(a.audio.rows, b.audio.rows);
  EXPECT_EQ(a.audio.cols, b.audio.cols);
  EXPECT_EQ(a.audio.data, b.audio.data);
  EXPECT_EQ(a.audio_was_empty, b.audio_was_empty);
}

}  // namespace

TEST(Features, LoadsEveryFixtureAsNumpySawIt) {
  const auto m = nlohmann::json::parse(read_file(kDir + "manifest.json"))["features"];
  for (const auto& [name, facts] : m.items()) {
    SCOPED_TRACE(name);
    const VideoFeatures f = load_video_features(kDir + name, 0, 0);
    EXPECT_EQ(f.video_id, facts["video_id"].get<std::string>());
    expect_matrix(f.rgb, facts["rgb"]);
    EXPECT_EQ(f.audio_was_empty, facts["audio_empty"].get<bool>());
    if (f.audio_was_empty) {
      EXPECT_EQ(f.audio.rows, kEmptyAudioRows);
      EXPECT_EQ(f.audio.cols, 128);
      EXPECT_EQ(f.audio.data, std::vector<float>(kEmptyAudioRows * 128, 0.0f));
    } else {
      expect_matrix(f.audio, facts["audio"]);
    }
  }
}

TEST(Features, ChecksTheConfiguredWidths) {
  const VideoFeatures f = load_video_features(kDir + "features_real_widths_py2.pkl", 2048, 128);
  EXPECT_EQ(f.rgb.rows, 3);
  EXPECT_EQ(f.audio.rows, 2);
  const Error e = load_error("features_py3_proto2.pkl", 2048, 128);
  EXPECT_EQ(e.where().key, "feature.image_pkl");
  EXPECT_EQ(e.where().file, kDir + "features_py3_proto2.pkl");
  EXPECT_EQ(e.message(), "expected shape [T, 2048], got [3, 8]");
  EXPECT_EQ(load_error("features_py3_proto2.pkl", 8, 128).message(), "expected shape [Ta, 128], got [2, 4]");
}

TEST(Features, EmptyAudioBecomesTenZeroRowsOfTheAskedWidth) {
  for (const char* name : {"features_empty_audio_1d.pkl", "features_empty_audio_2d.pkl"}) {
    const VideoFeatures f = load_video_features(kDir + name, 8, 64);
    EXPECT_TRUE(f.audio_was_empty) << name;
    EXPECT_EQ(f.audio.rows, 10);
    EXPECT_EQ(f.audio.cols, 64);
    EXPECT_EQ(f.audio.data, std::vector<float>(640, 0.0f));
  }
}

TEST(Features, EveryRejectionNamesFileAndKey) {
  struct Case {
    const char* file;
    const char* key;
    const char* message;
  };
  const Case cases[] = {
      {"bad_missing_audio.pkl", "feature.audio_pkl", "missing from the feature record"},
      {"bad_missing_video.pkl", "video", "missing from the feature record"},
      {"bad_empty_image.pkl", "feature.image_pkl", "empty image sequence (shape [0, 8])"},
      {"bad_rank_image.pkl", "feature.image_pkl", "expected shape [T, D], got [24]"},
      {"bad_nan_image.pkl", "feature.image_pkl", "value at [1, 2] is NaN (as float32)"},
      {"bad_inf_audio.pkl", "feature.audio_pkl", "value at [1, 3] is infinite (as float32)"},
      {"bad_feature_not_dict.pkl", "feature", "expected a dict, got a list"},
      {"bad_record_list.pkl", "(record)", "expected a dict, got a list"},
  };
  for (const auto& c : cases) {
    const Error e = load_error(c.file);
    EXPECT_EQ(e.kind(), ErrorKind::Data) << c.file;
    EXPECT_EQ(e.where().file, kDir + c.file);
    EXPECT_EQ(e.where().key, c.key) << c.file;
    EXPECT_EQ(e.message(), c.message) << c.file;
  }
  // A file that is not a pickle at all, and one that does not exist.
  EXPECT_EQ(load_error("manifest.json").kind(), ErrorKind::Data);
  EXPECT_EQ(load_error("no_such_file.pkl").kind(), ErrorKind::Io);
}

TEST(Features, VideoIdOfEveryTypeReadsLikePythonStr) {
  const NDArray rgb = NDArray::from_float({1, 2}, {1, 2});
  const NDArray audio = NDArray::from_float({1, 2}, {3, 4});
  const auto id_of = [&](const P& id) {
    const P record = P::of_dict({{P::of_str("video"), id},
                                 {P::of_str("feature"), P::of_dict({{P::of_str("image_pkl"), P::of_array(rgb)},
                                                                    {P::of_str("audio_pkl"), P::of_array(audio)}})}});
    return video_features_from_record(record, "r", 2, 2).video_id;
  };
  EXPECT_EQ(id_of(P::of_str("abc")), "abc");
  EXPECT_EQ(id_of(P::of_bytes("caf\xe9")), "caf\xc3\xa9");
  EXPECT_EQ(id_of(P::of_int(-7)), "-7");
  EXPECT_EQ(id_of(P::of_bool(true)), "True");
  EXPECT_EQ(id_of(P::of_float(123.0)), "123.0");
  EXPECT_EQ(id_of(P::of_float(0.0001)), "0.0001");
  EXPECT_EQ(id_of(P::of_float(1.5e-5)), "1.5e-05");
  EXPECT_EQ(id_of(P::of_float(1e16)), "1e+16");
  EXPECT_EQ(id_of(P::of_float(123456789012345680.0)), "1.2345678901234568e+17");
  EXPECT_EQ(id_of(P::of_float(-0.0)), "-0.0");
  EXPECT_EQ(id_of(P::of_float(0.1)), "0.1");
  EXPECT_THROW(id_of(P::of_list({})), Error);
}

TEST(Features, FeaturePathFollowsTheOriginal) {
  EXPECT_EQ(feature_path_for("feats", "18e9bf08a2fc7eaa4ee9215ab42ea827.mp4"), "feats/18e9bf08a2fc7eaa4ee9215ab42ea827.pkl");
  EXPECT_EQ(feature_path_for("./datasets/feature_files/", "http://host/dir/abc.def.mp4"),
            "./datasets/feature_files/abc.pkl");
  EXPECT_EQ(feature_path_for("d", "noext"), "d/noext.pkl");
  EXPECT_EQ(feature_path_for("", "a/x.mp4"), "x.pkl");
  EXPECT_EQ(feature_path_for("d", "dir/"), "d/.pkl");
  EXPECT_EQ(feature_path_for("d", ".hidden.mp4"), "d/.pkl");
}

TEST(FeatureWriter, RoundTripsThroughAFile) {
  const std::string dir = ::testing::TempDir() + "mvtag_features_test";
  for (bool empty : {false, true}) {
    const VideoFeatures f = writer_demo(empty);
    const std::string path = dir + (empty ? "/empty.pkl" : "/full.pkl");
    write_video_features(path, f);
    expect_same(load_video_features(path, 6, 4), f);
  }
  std::filesystem::remove_all(dir);
}

// Byte for byte what Python 2's pickle with numpy 1.x writes (tools/make_pickle_fixtures.py emulates
// it and verifies Python reads written_by_mvtag*.pkl).
TEST(FeatureWriter, MatchesCommittedFixtures) {
  for (bool empty : {false, true}) {
    const std::string name = empty ? "written_by_mvtag_empty_audio.pkl" : "written_by_mvtag.pkl";
    const std::string bytes = pickle_video_features(writer_demo(empty));
    if (!path_exists(kDir + name) || read_file(kDir + name) != bytes) {
      const std::string actual = ::testing::TempDir() + name;
      write_file_atomic(actual, bytes);
      ADD_FAILURE() << name << " differs from the writer's output, saved at " << actual
                    << " (if the change is intended, copy it into tests/fixtures/pickle/ and run "
                       "tools/make_pickle_fixtures.py to verify it)";
    }
  }
}

TEST(FeatureWriter, RewritesPython2FilesIdentically) {
  for (const char* name : {"features_real_widths_py2.pkl", "features_py2_proto2.pkl"}) {
    const std::string original = read_file(kDir + name);
    const VideoFeatures f = load_video_features(kDir + name, 0, 0);
    EXPECT_TRUE(pickle_video_features(f) == original) << name;
  }
}

TEST(FeatureWriter, RefusesInconsistentMatrices) {
  VideoFeatures f = writer_demo(false);
  f.rgb.data.pop_back();
  EXPECT_THROW(pickle_video_features(f), Error);
}
