// Tagger: settings precedence, in-memory scoring (batch-invariant, equal to list tagging) and
// the errors a server relies on.
#include <map>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "device_test.h"
#include "job_fixture.h"
#include "mvtag/core/data/dataset.h"
#include "mvtag/infer/evaluator.h"
#include "mvtag/infer/tagger.h"

using namespace mvtag;

namespace {
TaggerOptions options_for(const test::JobFixture& f, const Config* config, const torch::Device& device) {
  TaggerOptions t;
  t.model_dir = f.model_dir;
  t.config = config;
  t.device = device;
  return t;
}

// The model runs on the device under test.
class TaggerOnDevice : public test::DeviceTest {};
}  // namespace

TEST_P(TaggerOnDevice, WithoutAConfigurationTheModelsSettingsApply) {
  const torch::Device device = GetParam();
  test::JobFixture f;
  Tagger checkpoint(options_for(f, nullptr, device));  // no inference.json: the defaults
  EXPECT_EQ(checkpoint.threshold(), 0.5);
  EXPECT_EQ(checkpoint.settings().threshold_from, "default");
  EXPECT_EQ(checkpoint.class_names().size(), 12u);

  Evaluator(f.config, f.model_dir, device).export_to(f.dir.file("exported"));  // threshold 0.4, 16 tokens
  TaggerOptions t = options_for(f, nullptr, device);
  t.model_dir = f.dir.file("exported");
  const Tagger exported(t);
  EXPECT_EQ(exported.threshold(), 0.4);
  EXPECT_EQ(exported.text_max_len(), 16u);
  t.threshold = 0.75;
  EXPECT_EQ(Tagger(t).threshold(), 0.75);
  t.threshold.reset();
  t.config = &f.config;
  EXPECT_EQ(Tagger(t).threshold(), 0.4);
}

TEST_P(TaggerOnDevice, ScoresInMemoryEqualListTaggingWhateverTheBatch) {
  const torch::Device device = GetParam();
  test::JobFixture f;
  const Tagger tagger(options_for(f, &f.config, device));
  std::map<std::string, std::vector<float>> listed;
  const TagListStats stats = tagger.tag_list([&](const std::string& id, const float* p) {
    listed[id] = std::vector<float>(p, p + tagger.num_classes());
  });
  EXPECT_EQ(stats.tagged, 9u);
  EXPECT_EQ(listed.size(), 9u);

  // The same videos assembled by hand, scored all at once and one by one.
  const Dataset data(tagger.infer_data(), tagger.model().classes, tagger.model().tokenizer);
  std::vector<Sample> all;
  for (std::size_t i = 0; i < data.size(); ++i) {
    Sample s = data.load(i);
    all.push_back(tagger.make_sample(s.video_id, data.item(i).title, s.rgb, s.audio));
  }
  const auto together = tagger.score(all);
  ASSERT_EQ(together.size(), all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto alone = tagger.score({all[i]});
    const auto& want = listed.at(all[i].video_id);
    for (int c = 0; c < tagger.num_classes(); ++c) {
      EXPECT_NEAR(together[i][c], want[c], 1e-5) << all[i].video_id << " class " << c;
      EXPECT_NEAR(alone[0][c], want[c], 1e-5) << all[i].video_id << " class " << c;
    }
  }
  EXPECT_TRUE(tagger.score({}).empty());
}

TEST_P(TaggerOnDevice, WrongFeatureWidthsAndMissingListsAreErrors) {
  const torch::Device device = GetParam();
  test::JobFixture f;
  const Tagger tagger(options_for(f, nullptr, device));
  FeatureMatrix rgb{2, 16, std::vector<float>(32, 0.1f)}, audio{3, 8, std::vector<float>(24, 0.2f)};
  EXPECT_NO_THROW(tagger.make_sample("ok", "标题", rgb, audio));
  FeatureMatrix narrow{2, 15, std::vector<float>(30, 0.1f)};
  test::expect_message_contains(test::thrown_error([&] { tagger.make_sample("v1", "t", narrow, audio); }, ErrorKind::Data),
                                {"video 'v1'", "image", "[frames >= 1, 16]", "[2, 15]"});
  FeatureMatrix no_frames{0, 8, {}};
  test::expect_message_contains(test::thrown_error([&] { tagger.make_sample("v2", "t", rgb, no_frames); }, ErrorKind::Data),
                                {"video 'v2'", "audio"});
  test::thrown_error([&] { tagger.tag_list([](const std::string&, const float*) {}); }, ErrorKind::Usage);
}

TEST_P(TaggerOnDevice, AClassListOfAnotherSizeIsRefused) {
  const torch::Device device = GetParam();
  test::JobFixture f;
  f.dir.write("three.txt", "a\nb\nc\n");
  Config other = f.config;
  set_config_value(other, "MODEL", "class_name_file", PyValue::of_str(f.dir.file("three.txt")), at_file("test"));
  test::expect_message_contains(test::thrown_error([&] { Tagger t(options_for(f, &other, device)); }, ErrorKind::Config),
                                {"lists 3 classes", "has 12"});
}

MVTAG_INSTANTIATE_DEVICE_TESTS(TaggerOnDevice);
