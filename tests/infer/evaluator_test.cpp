// Evaluator: its metrics are those of the model's probabilities on the VALID list, and export
// writes a model the Tagger reads back with the same scores.
#include <map>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "device_test.h"
#include "job_fixture.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/data/dataset.h"
#include "mvtag/core/report/metrics.h"
#include "mvtag/infer/evaluator.h"
#include "mvtag/infer/tagger.h"

using namespace mvtag;

namespace {
// The model runs on the device under test.
class EvaluatorOnDevice : public test::DeviceTest {};
}  // namespace

TEST_P(EvaluatorOnDevice, MetricsAreThoseOfTheTaggersProbabilities) {
  const torch::Device device = GetParam();
  test::JobFixture f;
  const Evaluator evaluator(f.config, f.model_dir, device);
  const Evaluation e = evaluator.evaluate();
  EXPECT_EQ(e.result.metrics.num_videos, 9u);
  EXPECT_EQ(e.list_file, f.config.valid.url_title_label_file);

  // The same list through the Tagger, with the labels of the list: the same numbers.
  TaggerOptions t;
  t.model_dir = f.model_dir;
  t.config = &f.config;
  t.device = device;
  const Tagger tagger(t);
  DatasetOptions d = dataset_options_for(f.config, "VALID");
  d.rgb_dim = 16;
  d.audio_dim = 8;
  const Dataset data(d, tagger.model().classes, tagger.model().tokenizer);
  MetricsOptions mo;
  mo.hit_ks = f.config.model.top_n;
  mo.threshold = static_cast<float>(f.config.infer.threshold);
  MetricsAccumulator acc(12, mo);
  for (std::size_t i = 0; i < data.size(); ++i) {
    Sample s = data.load(i);
    const auto p = tagger.score({tagger.make_sample(s.video_id, data.item(i).title, s.rgb, s.audio)});
    std::vector<float> labels(12, 0.0f);
    for (int l : data.item(i).labels) labels[static_cast<std::size_t>(l)] = 1.0f;
    acc.add(p[0].data(), labels.data(), 1);
  }
  const MetricsReport want = acc.finish();
  for (const auto& [k, v] : want.hit_at) EXPECT_NEAR(e.result.metrics.hit_at.at(k), v, 1e-9) << "Hit@" << k;
  EXPECT_NEAR(e.result.metrics.gap, want.gap, 1e-6);
  EXPECT_NEAR(e.result.metrics.map, want.map, 1e-6);

  const auto j = e.to_json(evaluator.model().classes.names());
  EXPECT_EQ(j["num_videos"], 9);
  EXPECT_EQ(j["model"], f.model_dir);
  EXPECT_EQ(j["per_class"].size(), 12u);
}

TEST_P(EvaluatorOnDevice, ExportWritesTheConfigurationsSettings) {
  const torch::Device device = GetParam();
  test::JobFixture f;
  const Evaluator evaluator(f.config, f.model_dir, device);
  evaluator.export_to(f.dir.file("exported"));
  for (const char* file : {"model.safetensors", "model.json", "vocab.txt", "class.txt", "inference.json"}) {
    EXPECT_TRUE(path_exists(f.dir.file(std::string("exported/") + file))) << file;
  }
  const auto settings = read_inference_settings(f.dir.file("exported"));
  ASSERT_TRUE(settings.has_value());
  EXPECT_EQ(settings->threshold, 0.4);
  EXPECT_EQ(settings->text_max_len, 16);
  EXPECT_EQ(read_file(f.dir.file("exported/model.safetensors")), read_file(f.model_dir + "/model.safetensors"));
}

TEST_P(EvaluatorOnDevice, AnEmptyListIsAnErrorNamingIt) {
  const torch::Device device = GetParam();
  test::JobFixture f;
  f.dir.write("empty.txt", "");
  const Evaluator evaluator(f.config, f.model_dir, device);
  DatasetOptions d = dataset_options_for(f.config, "VALID");
  d.list_file = f.dir.file("empty.txt");
  d.rgb_dim = 16;
  d.audio_dim = 8;
  test::expect_message_contains(test::thrown_error([&] { evaluator.evaluate(d); }), {"empty.txt"});
}

MVTAG_INSTANTIATE_DEVICE_TESTS(EvaluatorOnDevice);
