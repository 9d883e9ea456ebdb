// Feature packs (mvtag pack): round trips against the .pkl files, float16 rounding, the report of
// bad samples, a Dataset that reads a pack like a directory, and damaged packs refused by name.
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "mvtag/core/base/io.h"
#include "mvtag/core/data/dataset.h"
#include "mvtag/core/data/demo_data.h"
#include "mvtag/core/data/feature_pack.h"
#include "test_util.h"

using namespace mvtag;
using test::TempDir;

namespace {

struct Demo {
  TempDir dir{"pack"};
  std::string data = dir.file("data");
  Demo() {
    DemoOptions o;
    o.train_videos = 12;
    o.val_videos = 3;
    o.rgb_dim = 6;
    o.audio_dim = 4;
    write_demo_data(data, o);
  }
  PackOptions options(const std::string& out, PackDtype dtype = PackDtype::Float32) const {
    PackOptions p;
    p.list_file = data + "/train.txt";
    p.feature_dir = data + "/feature_files";
    p.output = out;
    p.dtype = dtype;
    p.rgb_dim = 6;
    p.audio_dim = 4;
    p.progress = false;
    return p;
  }
};

void expect_same(const VideoFeatures& a, const VideoFeatures& b, float tolerance) {
  EXPECT_EQ(a.video_id, b.video_id);
  EXPECT_EQ(a.audio_was_empty, b.audio_was_empty);
  ASSERT_EQ(a.rgb.rows, b.rgb.rows);
  ASSERT_EQ(a.audio.rows, b.audio.rows);
  ASSERT_EQ(a.rgb.data.size(), b.rgb.data.size());
  ASSERT_EQ(a.audio.data.size(), b.audio.data.size());
  for (std::size_t i = 0; i < a.rgb.data.size(); ++i) {
    if (tolerance == 0) {
      ASSERT_EQ(a.rgb.data[i], b.rgb.data[i]) << i;
    } else {
      ASSERT_NEAR(a.rgb.data[i], b.rgb.data[i], tolerance * std::max(1.0f, std::fabs(b.rgb.data[i]))) << i;
    }
  }
  for (std::size_t i = 0; i < a.audio.data.size(); ++i) {
    ASSERT_NEAR(a.audio.data[i], b.audio.data[i], tolerance * std::max(1.0f, std::fabs(b.audio.data[i]))) << i;
  }
}

}  // namespace

TEST(FeaturePack, HoldsExactlyWhatThePickleFilesHold) {
  Demo d;
  const std::string out = d.dir.file("train.mvpack");
  const PackReport r = pack_features(d.options(out));
  EXPECT_EQ(r.listed, 12u);
  EXPECT_EQ(r.packed, 12u);
  EXPECT_TRUE(r.missing.empty());
  EXPECT_TRUE(r.unreadable.empty());
  EXPECT_TRUE(is_feature_pack(out));
  EXPECT_FALSE(is_feature_pack(d.data + "/train.txt"));
  EXPECT_FALSE(is_feature_pack(d.data + "/feature_files"));

  const auto pack = FeaturePack::open(out);
  EXPECT_EQ(pack->size(), 12u);
  EXPECT_EQ(pack->dtype(), PackDtype::Float32);
  EXPECT_EQ(pack->rgb_dim(), 6);
  const ListFile list = read_list_file(d.data + "/train.txt", ListMode::Infer, ClassMap());
  for (const VideoItem& item : list.items) {
    const std::int64_t at = pack->find(video_key(item.name));
    ASSERT_GE(at, 0) << item.name;
    expect_same(pack->load(static_cast<std::size_t>(at), 6, 4),
                load_video_features(feature_path_for(d.data + "/feature_files", item.name), 6, 4), 0);
  }
  EXPECT_EQ(pack->find("no such video"), -1);
  test::expect_message_contains(test::thrown_error([&] { pack->load(0, 7, 4); }, ErrorKind::Data),
                                {out, pack->key(0), "6-wide image", "expects 7"});
}

TEST(FeaturePack, Float16RoundsToHalfPrecisionAndRefusesWhatItCannotHold) {
  Demo d;
  const std::string out = d.dir.file("half.mvpack");
  pack_features(d.options(out, PackDtype::Float16));
  const auto half = FeaturePack::open(out);
  const auto full_path = d.dir.file("full.mvpack");
  pack_features(d.options(full_path));
  const auto full = FeaturePack::open(full_path);
  bool rounded = false;
  for (std::size_t i = 0; i < half->size(); ++i) {
    const VideoFeatures h = half->load(i, 6, 4), f = full->load(full->find(half->key(i)), 6, 4);
    expect_same(h, f, 1.0f / 1024);  // float16 keeps 11 significant bits
    for (std::size_t k = 0; k < h.rgb.data.size(); ++k) rounded = rounded || h.rgb.data[k] != f.rgb.data[k];
  }
  EXPECT_TRUE(rounded) << "float16 stored the values exactly: not half precision";
  // A hand-picked value: 0.1 is 0.0999755859375 in float16.
  VideoFeatures v;
  v.video_id = "v";
  v.rgb = {1, 6, {0.1f, 1, 2, 3, 4, 5}};
  v.audio = {1, 4, {0, 0, 0, 70000.0f}};
  FeaturePackWriter w(d.dir.file("hand.mvpack"), PackDtype::Float16, 6, 4);
  test::expect_message_contains(test::thrown_error([&] { w.add("big", v); }, ErrorKind::Data), {"'big'", "65504"});
  v.audio.data[3] = 1;
  w.add("ok", v);
  w.commit();
  EXPECT_EQ(FeaturePack::open(d.dir.file("hand.mvpack"))->load(0, 6, 4).rgb.data[0], 0.0999755859375f);
}

TEST(FeaturePack, MissingAndBrokenFeatureFilesAreSkippedAndNamed) {
  Demo d;
  const ListFile list = read_list_file(d.data + "/train.txt", ListMode::Infer, ClassMap());
  std::filesystem::remove(feature_path_for(d.data + "/feature_files", list.items[2].name));
  write_file_atomic(feature_path_for(d.data + "/feature_files", list.items[5].name), "not a pickle");
  const std::string out = d.dir.file("train.mvpack");
  const PackReport r = pack_features(d.options(out));
  EXPECT_EQ(r.packed, 10u);
  EXPECT_EQ(r.missing, std::vector<std::string>{list.items[2].name});
  ASSERT_EQ(r.unreadable.size(), 1u);
  EXPECT_TRUE(test::contains(r.unreadable[0], video_key(list.items[5].name))) << r.unreadable[0];
  EXPECT_EQ(FeaturePack::open(out)->size(), 10u);

  // Nothing packable: an error naming the list, and no pack left behind.
  PackOptions none = d.options(d.dir.file("none.mvpack"));
  none.feature_dir = d.dir.file("nowhere");
  test::expect_message_contains(test::thrown_error([&] { pack_features(none); }, ErrorKind::Data),
                                {"train.txt", "no video", "12 without a feature file"});
  EXPECT_FALSE(path_exists(none.output));
}

TEST(FeaturePack, ADatasetReadsAPackAsItReadsTheDirectory) {
  Demo d;
  const std::string out = d.dir.file("train.mvpack");
  pack_features(d.options(out));
  const ClassMap classes = ClassMap::load(d.data + "/class.txt");
  const Tokenizer tokenizer = Tokenizer::load(d.data + "/ernie/vocab.txt");
  DatasetOptions o;
  o.list_file = d.data + "/train.txt";
  o.feature_dir = d.data + "/feature_files";
  o.rgb_dim = 6;
  o.audio_dim = 4;
  const Dataset from_files(o, classes, tokenizer);
  o.feature_dir = out;
  const Dataset from_pack(o, classes, tokenizer);
  ASSERT_NE(from_pack.pack(), nullptr);
  EXPECT_EQ(from_files.pack(), nullptr);
  ASSERT_EQ(from_pack.size(), from_files.size());
  for (std::size_t i = 0; i < from_pack.size(); ++i) {
    const Sample a = from_pack.load(i), b = from_files.load(i);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.labels, b.labels);
    EXPECT_EQ(a.text.token_ids, b.text.token_ids);
    EXPECT_EQ(a.rgb.data, b.rgb.data);
    EXPECT_EQ(a.audio.data, b.audio.data);
    EXPECT_EQ(a.video_id, b.video_id);
  }
  // A list row whose video is not in the pack counts as missing, like a missing .pkl file.
  write_file_atomic(d.dir.file("more.txt"), read_file(o.list_file) + "extra.mp4\t标题\t" +
                                                  classes.names().front() + "\n");
  o.list_file = d.dir.file("more.txt");
  const Dataset more(o, classes, tokenizer);
  EXPECT_EQ(more.size(), from_pack.size());
  EXPECT_EQ(more.report().missing_names, std::vector<std::string>{"extra.mp4"});
}

TEST(FeaturePack, DamagedPacksAreRefusedNamingTheFile) {
  Demo d;
  const std::string good = d.dir.file("good.mvpack");
  pack_features(d.options(good));
  const std::string bytes = read_file(good);
  const std::string bad = d.dir.file("bad.mvpack");
  auto refused = [&](const std::string& content, const std::string& why) {
    write_file_atomic(bad, content);
    test::expect_message_contains(test::thrown_error([&] { FeaturePack::open(bad); }, ErrorKind::Data), {bad, why});
  };
  refused(bytes.substr(0, bytes.size() - 1), "MVTAGPKE");     // truncated
  refused(bytes.substr(0, 40), "too short");
  refused("XVTAGPK1" + bytes.substr(8), "MVTAGPK1");
  // The trailer's index offset points past the end.
  std::string moved = bytes;
  moved[moved.size() - 24 + 6] = 1;
  refused(moved, "trailer");
  // An entry's offset moved past its data: edit the index in place (same length).
  const std::string index_text = "\"offset\":64,";
  std::string shifted = bytes;
  const std::size_t at = shifted.find(index_text);
  ASSERT_NE(at, std::string::npos);
  shifted.replace(at, index_text.size(), "\"offset\":99,");
  refused(shifted, "outside the data region");
  std::string dup = bytes;
  const std::size_t first_key = dup.find("\"key\":\"");
  const std::size_t second_key = dup.find("\"key\":\"", first_key + 1);
  ASSERT_NE(second_key, std::string::npos);
  const std::size_t key_len = dup.find('"', first_key + 7) - (first_key + 7);
  ASSERT_EQ(dup.find('"', second_key + 7) - (second_key + 7), key_len);  // demo keys are all 32 hex digits
  dup.replace(second_key + 7, key_len, dup.substr(first_key + 7, key_len));
  refused(dup, "repeats the key");
  EXPECT_EQ(test::thrown_error([&] { FeaturePack::open(d.dir.file("absent")); }).kind(), ErrorKind::Io);
}

TEST(FeaturePack, ReadsPacksWrittenByTheIndependentPythonWriter) {
  const std::string dir = std::string(MVTAG_FIXTURES) + "/pack/";
  const auto f32 = FeaturePack::open(dir + "python_two_videos.mvpack");
  ASSERT_EQ(f32->size(), 2u);
  EXPECT_EQ(f32->rgb_dim(), 3);
  EXPECT_EQ(f32->audio_dim(), 2);
  const VideoFeatures a = f32->load(static_cast<std::size_t>(f32->find("a")), 3, 2);
  EXPECT_EQ(a.video_id, "id-a");
  EXPECT_EQ(a.rgb.rows, 2);
  EXPECT_EQ(a.rgb.data, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(a.audio.data, (std::vector<float>{0.5f, -1}));
  EXPECT_FALSE(a.audio_was_empty);
  const VideoFeatures b = f32->load(static_cast<std::size_t>(f32->find("b")), 3, 2);
  EXPECT_EQ(b.audio.rows, 10);
  EXPECT_TRUE(b.audio_was_empty);
  const auto f16 = FeaturePack::open(dir + "python_one_video_f16.mvpack");
  EXPECT_EQ(f16->dtype(), PackDtype::Float16);
  const VideoFeatures k = f16->load(0, 3, 2);
  EXPECT_EQ(k.rgb.data, (std::vector<float>{0.0999755859375f, 2, -3}));  // 0.1 rounded to float16
  EXPECT_EQ(k.audio.data, (std::vector<float>{4, 5, 6, 7}));
}
