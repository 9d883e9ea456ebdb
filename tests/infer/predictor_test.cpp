// predict()/evaluate() with length bucketing: the sink sees the list's order and batch layout,
// and the numbers are those of an unbucketed pass (batch invariance, ≤ 1e-5).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "device_test.h"
#include "job_fixture.h"
#include "mvtag/core/base/io.h"
#include "mvtag/infer/predictor.h"

using namespace mvtag;

namespace {
class PredictorOnDevice : public test::DeviceTest {};

struct Seen {
  std::vector<std::vector<std::size_t>> batches;  // indices, batch by batch
  std::vector<std::string> video_ids;
  std::vector<torch::Tensor> probs, labels;
};
}  // namespace

TEST_P(PredictorOnDevice, BucketedPassesReportInListOrderWithTheSameNumbers) {
  const torch::Device device = GetParam();
  test::JobFixture f;
  const LoadedModel model = load_model_directory(f.model_dir, device);
  DatasetOptions d = dataset_options_for(f.config, "VALID");
  d.rgb_dim = 16;
  d.audio_dim = 8;
  const Dataset data(d, model.classes, model.tokenizer);
  ASSERT_EQ(data.size(), 9u);
  // One video cannot be read: it is left out of its batch, as without bucketing.
  const std::string victim = data.feature_path(4);
  write_file_atomic(victim, "garbage");

  auto run = [&](Bucketing bucketing, bool raw) {
    LoaderOptions o;
    o.batch_size = 4;
    o.bucket_pool = 3;
    o.num_workers = 1;
    o.bucketing = bucketing;
    Loader loader(data, o, model.tokenizer.vocab().pad_id());
    Seen seen;
    if (raw) {  // the loader's own batches
      loader.start_epoch(0);
      while (auto b = loader.next()) seen.batches.push_back(b->indices);
      return seen;
    }
    const PredictStats stats = predict(
        *model.net.ptr(), loader, device,
        [&](const Batch& b, const torch::Tensor& logits, const torch::Tensor& probs) {
          EXPECT_EQ(logits.sizes(), probs.sizes());
          EXPECT_EQ(b.labels.size(0), b.size());
          seen.batches.push_back(b.indices);
          seen.video_ids.insert(seen.video_ids.end(), b.video_ids.begin(), b.video_ids.end());
          seen.probs.push_back(probs);
          seen.labels.push_back(b.labels);
        },
        "");
    EXPECT_EQ(stats.videos, 8u);
    EXPECT_EQ(stats.skipped, 1u);
    return seen;
  };

  const Seen plain = run(Bucketing::None, false);
  ASSERT_EQ(plain.batches, (std::vector<std::vector<std::size_t>>{{0, 1, 2, 3}, {5, 6, 7}, {8}}));
  for (Bucketing bucketing : {Bucketing::Title, Bucketing::Frames}) {
    // The loader really does reorder these videos (else this test would prove nothing) ...
    EXPECT_NE(run(bucketing, true).batches, plain.batches) << static_cast<int>(bucketing);
    // ... and predict() undoes it.
    const Seen bucketed = run(bucketing, false);
    EXPECT_EQ(bucketed.batches, plain.batches);
    EXPECT_EQ(bucketed.video_ids, plain.video_ids);
    ASSERT_EQ(bucketed.probs.size(), plain.probs.size());
    for (std::size_t b = 0; b < plain.probs.size(); ++b) {
      EXPECT_LE((bucketed.probs[b] - plain.probs[b]).abs().max().item<float>(), 1e-5f) << "batch " << b;
      EXPECT_TRUE(torch::equal(bucketed.labels[b], plain.labels[b])) << "batch " << b;
    }
  }

  // evaluate(): every metric and both losses as without bucketing.
  auto evaluate_with = [&](Bucketing bucketing) {
    LoaderOptions o;
    o.batch_size = 4;
    o.bucket_pool = 3;
    o.bucketing = bucketing;
    Loader loader(data, o, model.tokenizer.vocab().pad_id());
    MetricsOptions mo;
    return evaluate(*model.net.ptr(), loader, device, mo, "");
  };
  const EvalResult a = evaluate_with(Bucketing::None), b = evaluate_with(Bucketing::Title);
  EXPECT_EQ(a.metrics.num_videos, 8u);
  EXPECT_EQ(b.metrics.num_videos, 8u);
  EXPECT_NEAR(a.loss, b.loss, 1e-5);
  EXPECT_NEAR(a.loss_original, b.loss_original, 1e-5);
  EXPECT_NEAR(a.metrics.gap, b.metrics.gap, 1e-9);
  for (const auto& [k, v] : a.metrics.hit_at) EXPECT_NEAR(b.metrics.hit_at.at(k), v, 1e-9) << "Hit@" << k;
}

MVTAG_INSTANTIATE_DEVICE_TESTS(PredictorOnDevice);
