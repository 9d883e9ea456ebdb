#include "mvtag/core/report/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "test_util.h"

using namespace mvtag;
using mvtag::test::error_of;

namespace {

MetricsOptions options(std::vector<int> hit_ks, int top_k, float threshold = 0.5f) {
  MetricsOptions o;
  o.hit_ks = std::move(hit_ks);
  o.top_k = top_k;
  o.threshold = threshold;
  return o;
}

// N = 3 videos, C = 4 classes. Rankings (score desc):
//   v0: c0 .9, c2 .8+, c3 .3, c1 .1        labels {2}
//   v1: c3 .7+, c1 .6+, c2 .4, c0 .2       labels {1, 3}
//   v2: c0 .5, c3 .45, c2 .05, c1 0        no labels
const std::vector<float> kScores = {0.9f, 0.1f, 0.8f, 0.3f,   //
                                    0.2f, 0.6f, 0.4f, 0.7f,   //
                                    0.5f, 0.0f, 0.05f, 0.45f};
const std::vector<float> kLabels = {0, 0, 1, 0,  //
                                    0, 1, 0, 1,  //
                                    0, 0, 0, 0};

void expect_same_report(const MetricsReport& a, const MetricsReport& b) {
  EXPECT_EQ(a.num_videos, b.num_videos);
  EXPECT_EQ(a.hit_at, b.hit_at);
  EXPECT_DOUBLE_EQ(a.yt8m_hit1, b.yt8m_hit1);
  EXPECT_DOUBLE_EQ(a.perr, b.perr);
  EXPECT_DOUBLE_EQ(a.gap, b.gap);
  EXPECT_DOUBLE_EQ(a.gap_low, b.gap_low);
  EXPECT_DOUBLE_EQ(a.gap_high, b.gap_high);
  EXPECT_DOUBLE_EQ(a.map, b.map);
  ASSERT_EQ(a.per_class.size(), b.per_class.size());
  for (std::size_t j = 0; j < a.per_class.size(); ++j) {
    EXPECT_EQ(a.per_class[j].support, b.per_class[j].support);
    EXPECT_EQ(a.per_class[j].predicted, b.per_class[j].predicted);
    EXPECT_EQ(a.per_class[j].true_positives, b.per_class[j].true_positives);
    EXPECT_DOUBLE_EQ(a.per_class[j].ap, b.per_class[j].ap);
  }
  EXPECT_DOUBLE_EQ(a.micro.f1, b.micro.f1);
  EXPECT_DOUBLE_EQ(a.macro.f1, b.macro.f1);
}

}  // namespace

TEST(Metrics, HandComputedSmallCase) {
  const MetricsReport r = compute_metrics(kScores.data(), kLabels.data(), 3, 4, options({1, 2, 3, 10}, 20));
  EXPECT_EQ(r.num_videos, 3u);
  // Hit@k: v0's positive is at rank 2, v1's at rank 1, v2 has none.
  EXPECT_DOUBLE_EQ(r.hit_at.at(1), 100.0 / 3);
  EXPECT_DOUBLE_EQ(r.hit_at.at(2), 200.0 / 3);
  EXPECT_DOUBLE_EQ(r.hit_at.at(3), 200.0 / 3);
  EXPECT_DOUBLE_EQ(r.hit_at.at(10), 200.0 / 3);  // C = 4 < 10: the whole row
  // YT8M Hit@1: argmax v0 = c0 (0), v1 = c3 (1), v2 = c0 (0) -> 1/3.
  EXPECT_DOUBLE_EQ(r.yt8m_hit1, 1.0 / 3);
  // PERR: v0 top-1 {c0} -> 0/1; v1 top-2 {c3, c1} -> 2/2; v2 has n = 0 -> 0 but counts.
  EXPECT_DOUBLE_EQ(r.perr, 1.0 / 3);
  // GAP (C = 4 < 20 keeps all 12 pairs): pooled order .9- .8+ .7+ .6+ .5- ...; M = 3.
  // (1/2 + 2/3 + 3/4) / 3 = 23/36. No ties, so both bounds agree.
  EXPECT_NEAR(r.gap, 23.0 / 36, 1e-15);
  EXPECT_NEAR(r.gap_low, 23.0 / 36, 1e-15);
  EXPECT_NEAR(r.gap_high, 23.0 / 36, 1e-15);
  // mAP: c0 has no positives (0); c1, c2, c3 each rank their one positive first (1). -> 3/4.
  EXPECT_DOUBLE_EQ(r.map, 0.75);
  EXPECT_DOUBLE_EQ(r.per_class[0].ap, 0.0);
  EXPECT_DOUBLE_EQ(r.per_class[1].ap, 1.0);
  // Threshold 0.5 (inclusive): predicted v0 {c0, c2}, v1 {c1, c3}, v2 {c0}.
  EXPECT_EQ(r.per_class[0].predicted, 2u);
  EXPECT_EQ(r.per_class[0].support, 0u);
  EXPECT_EQ(r.per_class[0].true_positives, 0u);
  EXPECT_DOUBLE_EQ(r.per_class[0].precision, 0.0);  // 0/2
  EXPECT_DOUBLE_EQ(r.per_class[0].recall, 0.0);     // 0/0 := 0
  EXPECT_DOUBLE_EQ(r.per_class[0].f1, 0.0);
  for (int j = 1; j < 4; ++j) {
    EXPECT_EQ(r.per_class[j].support, 1u);
    EXPECT_DOUBLE_EQ(r.per_class[j].precision, 1.0);
    EXPECT_DOUBLE_EQ(r.per_class[j].recall, 1.0);
    EXPECT_DOUBLE_EQ(r.per_class[j].f1, 1.0);
  }
  // micro: tp 3, predicted 5, support 3 -> P .6, R 1, F1 2·.6/1.6 = .75. macro: 3/4 each.
  EXPECT_DOUBLE_EQ(r.micro.precision, 0.6);
  EXPECT_DOUBLE_EQ(r.micro.recall, 1.0);
  EXPECT_DOUBLE_EQ(r.micro.f1, 0.75);
  EXPECT_DOUBLE_EQ(r.macro.precision, 0.75);
  EXPECT_DOUBLE_EQ(r.macro.recall, 0.75);
  EXPECT_DOUBLE_EQ(r.macro.f1, 0.75);
}

TEST(Metrics, TopKCountsPositivesOutsideTheKeptPairs) {
  // top_k = 2: pairs v0 {.9-, .8+}, v1 {.7+, .6+}, v2 {.5-, .45-}; same hits as before -> 23/36.
  EXPECT_NEAR(compute_metrics(kScores.data(), kLabels.data(), 3, 4, options({1}, 2)).gap, 23.0 / 36, 1e-15);
  // top_k = 1: pairs .9- (v0 c0), .7+ (v1 c3), .5- (v2 c0). One hit at rank 2, M still 3: (1/2)/3.
  const MetricsReport r = compute_metrics(kScores.data(), kLabels.data(), 3, 4, options({1}, 1));
  EXPECT_NEAR(r.gap, 1.0 / 6, 1e-15);
  // mAP: only c3 keeps its positive (AP 1); c1, c2 lose theirs (0); c0 has none (0) -> 1/4.
  EXPECT_DOUBLE_EQ(r.map, 0.25);
  EXPECT_DOUBLE_EQ(r.per_class[1].ap, 0.0);
  EXPECT_DOUBLE_EQ(r.per_class[3].ap, 1.0);
}

TEST(Metrics, AllOnesScoresUseTheDocumentedTieOrderAndBounds) {
  // float32 sigmoid of a large logit is exactly 1: every score ties.
  // N = 2, C = 3; v0 labels {1}, v1 labels {2}.
  const std::vector<float> scores(6, 1.0f);
  const std::vector<float> labels = {0, 1, 0, 0, 0, 1};
  const MetricsReport r = compute_metrics(scores.data(), labels.data(), 2, 3, options({1, 2, 3}, 20));
  // Each video ranks c0, c1, c2 (lower class first).
  EXPECT_DOUBLE_EQ(r.hit_at.at(1), 0.0);
  EXPECT_DOUBLE_EQ(r.hit_at.at(2), 50.0);  // v0's c1 is second
  EXPECT_DOUBLE_EQ(r.hit_at.at(3), 100.0);
  EXPECT_DOUBLE_EQ(r.yt8m_hit1, 0.0);  // argmax takes the first maximum, c0
  EXPECT_DOUBLE_EQ(r.perr, 0.0);       // top-1 is c0 for both
  // Pooled order (class asc, video asc): c0v0- c0v1- c1v0+ c1v1- c2v0- c2v1+.
  // GAP = (1/3 + 2/6) / 2 = 1/3. Hits first: (1/1 + 2/2) / 2 = 1. Misses first: (1/5 + 2/6) / 2 = 4/15.
  EXPECT_NEAR(r.gap, 1.0 / 3, 1e-15);
  EXPECT_NEAR(r.gap_high, 1.0, 1e-15);
  EXPECT_NEAR(r.gap_low, 4.0 / 15, 1e-15);
  // mAP: c0 no positives (0); c1 v0+ v1- -> 1; c2 v0- v1+ -> 1/2. (0 + 1 + .5) / 3.
  EXPECT_DOUBLE_EQ(r.map, 0.5);
  // Everything is predicted: c1, c2 P = 1/2, R = 1, F1 = 2/3; micro P = 2/6, R = 1, F1 = 1/2.
  EXPECT_DOUBLE_EQ(r.per_class[1].f1, 2.0 / 3);
  EXPECT_DOUBLE_EQ(r.micro.precision, 1.0 / 3);
  EXPECT_DOUBLE_EQ(r.micro.f1, 0.5);
  EXPECT_DOUBLE_EQ(r.macro.precision, 1.0 / 3);
  EXPECT_DOUBLE_EQ(r.macro.recall, 2.0 / 3);
  EXPECT_DOUBLE_EQ(r.macro.f1, 4.0 / 9);
}

TEST(Metrics, TieBoundsOnlyWidenWithinEqualScores) {
  // v0 [.9+, .5-, .5+], v1 [.5-, .9-, .2+]; M = 3. Pooled (score desc, class asc, video asc):
  //   .9: c0v0+ c1v1-   .5: c0v1- c1v0- c2v0+   .2: c2v1+
  // Deterministic: hits at ranks 1, 5, 6 -> (1/1 + 2/5 + 3/6) / 3.
  // Hits first in each tie group: ranks 1, 3, 6 -> (1 + 2/3 + 3/6) / 3.
  // Misses first: ranks 2, 5, 6 -> (1/2 + 2/5 + 3/6) / 3.
  const std::vector<float> scores = {0.9f, 0.5f, 0.5f, 0.5f, 0.9f, 0.2f};
  const std::vector<float> labels = {1, 0, 1, 0, 0, 1};
  const MetricsReport r = compute_metrics(scores.data(), labels.data(), 2, 3, options({1}, 20));
  EXPECT_NEAR(r.gap, (1 + 2.0 / 5 + 0.5) / 3, 1e-15);
  EXPECT_NEAR(r.gap_high, (1 + 2.0 / 3 + 0.5) / 3, 1e-15);
  EXPECT_NEAR(r.gap_low, (1.0 / 2 + 2.0 / 5 + 0.5) / 3, 1e-15);
}

TEST(Metrics, TieAtTheTopKBoundaryKeepsTheLowerClass) {
  // v0 [.5, .5+, .1] with top_k = 1 keeps c0 (lower index) and loses the positive: GAP 0.
  const std::vector<float> scores = {0.5f, 0.5f, 0.1f};
  const std::vector<float> labels = {0, 1, 0};
  const MetricsReport r = compute_metrics(scores.data(), labels.data(), 1, 3, options({1, 2}, 1));
  EXPECT_DOUBLE_EQ(r.gap, 0.0);
  EXPECT_DOUBLE_EQ(r.hit_at.at(1), 0.0);
  EXPECT_DOUBLE_EQ(r.hit_at.at(2), 100.0);
}

TEST(Metrics, ZeroPredictionIsNeverAPerrHit) {
  // v0 [0, -1, -2] labels {0}: top-1 is c0 and positive, but its score is 0 -> PERR 0.
  // YT8M Hit@1 has no such rule: y[argmax] = 1. (Scores may be logits, hence negatives.)
  const std::vector<float> scores = {0.0f, -1.0f, -2.0f};
  const std::vector<float> labels = {1, 0, 0};
  const MetricsReport r = compute_metrics(scores.data(), labels.data(), 1, 3, options({1}, 20));
  EXPECT_DOUBLE_EQ(r.perr, 0.0);
  EXPECT_DOUBLE_EQ(r.yt8m_hit1, 1.0);
  const std::vector<float> tiny = {1e-30f, -1.0f, -2.0f};
  EXPECT_DOUBLE_EQ(compute_metrics(tiny.data(), labels.data(), 1, 3, options({1}, 20)).perr, 1.0);
}

TEST(Metrics, VideosWithoutLabelsCountEverywhere) {
  // Adding two label-less videos to the small case divides Hit@k, Hit@1 and PERR by 5 instead of 3.
  std::vector<float> scores = kScores, labels = kLabels;
  scores.insert(scores.end(), {0.3f, 0.2f, 0.1f, 0.0f, 0.9f, 0.9f, 0.9f, 0.9f});
  labels.insert(labels.end(), 8, 0.0f);
  const MetricsReport r = compute_metrics(scores.data(), labels.data(), 5, 4, options({1}, 20));
  EXPECT_DOUBLE_EQ(r.hit_at.at(1), 100.0 / 5);
  EXPECT_DOUBLE_EQ(r.yt8m_hit1, 1.0 / 5);
  EXPECT_DOUBLE_EQ(r.perr, 1.0 / 5);
  // Their pairs are all misses; the .9 ones now rank before v0's .9 (video order) and .8+.
  // Pooled: .9 (c0v0, c0v4, c1v4, c2v4, c3v4) then .8+ at rank 6, .7+ 7, .6+ 8: (1/6 + 2/7 + 3/8) / 3.
  EXPECT_NEAR(r.gap, (1.0 / 6 + 2.0 / 7 + 3.0 / 8) / 3, 1e-15);
}

TEST(Metrics, NoPositivesAtAllGivesZeros) {
  const std::vector<float> scores = {0.9f, 0.1f, 0.4f, 0.6f};
  const std::vector<float> labels(4, 0.0f);
  const MetricsReport r = compute_metrics(scores.data(), labels.data(), 2, 2, options({1}, 20));
  EXPECT_DOUBLE_EQ(r.gap, 0.0);
  EXPECT_DOUBLE_EQ(r.gap_low, 0.0);
  EXPECT_DOUBLE_EQ(r.gap_high, 0.0);
  EXPECT_DOUBLE_EQ(r.map, 0.0);
  EXPECT_DOUBLE_EQ(r.perr, 0.0);
  EXPECT_DOUBLE_EQ(r.micro.recall, 0.0);
  EXPECT_DOUBLE_EQ(r.micro.precision, 0.0);  // 0 of 2 predictions right
  const MetricsReport empty = MetricsAccumulator(3).finish();
  EXPECT_EQ(empty.num_videos, 0u);
  EXPECT_DOUBLE_EQ(empty.hit_at.at(1), 0.0);
  EXPECT_DOUBLE_EQ(empty.gap, 0.0);
}

TEST(Metrics, SoftLabelsFollowEachMetricsOwnRule) {
  // v0 [.9, .1] labels [.05, .95]: the original's Hit@1 ignores labels < 0.1; YT8M counts > 0.
  const std::vector<float> scores = {0.9f, 0.1f};
  const std::vector<float> labels = {0.05f, 0.95f};
  const MetricsReport r = compute_metrics(scores.data(), labels.data(), 1, 2, options({1, 2}, 20));
  EXPECT_DOUBLE_EQ(r.hit_at.at(1), 0.0);
  EXPECT_DOUBLE_EQ(r.hit_at.at(2), 100.0);
  EXPECT_DOUBLE_EQ(r.yt8m_hit1, 1.0);
  EXPECT_EQ(r.per_class[0].support, 1u);
}

TEST(Metrics, IndexListLabelsMatchMultiHot) {
  MetricsAccumulator lists(4, options({1, 2}, 2));
  lists.add(kScores.data(), {{2}, {3, 1, 3}, {}});
  expect_same_report(lists.finish(), compute_metrics(kScores.data(), kLabels.data(), 3, 4, options({1, 2}, 2)));
  EXPECT_EQ(error_of([&] { lists.add(kScores.data(), {{4}}); }), "label index 4 of video 3 is outside [0, 4)");
}

TEST(Metrics, AccumulatorOverBatchesEqualsOneBatch) {
  const auto golden = nlohmann::json::parse(read_file(std::string(MVTAG_FIXTURES) + "/metrics/sparse.json"));
  const int n = golden["num_videos"], c = golden["num_classes"];
  std::vector<float> scores, labels;
  for (const auto& row : golden["scores"]) for (double v : row) scores.push_back(static_cast<float>(v));
  for (const auto& row : golden["labels"]) for (int v : row) labels.push_back(static_cast<float>(v));
  for (int top_k : {20, 5}) {
    const MetricsOptions o = options({1, 2, 3, 5, 10}, top_k);
    MetricsAccumulator acc(c, o);
    int done = 0;
    for (int size : {7, 1, 13, 0, 29}) {
      acc.add(scores.data() + done * c, labels.data() + done * c, size);
      done += size;
      acc.finish();  // peeking must not disturb the accumulation
    }
    ASSERT_EQ(done, n);
    EXPECT_EQ(acc.num_videos(), static_cast<std::size_t>(n));
    expect_same_report(acc.finish(), compute_metrics(scores.data(), labels.data(), n, c, o));
  }
}

TEST(Metrics, MatchesTheNumpyReference) {
  for (const char* name : {"sparse", "dense_missing_classes", "single_label"}) {
    SCOPED_TRACE(name);
    const auto g = nlohmann::json::parse(read_file(std::string(MVTAG_FIXTURES) + "/metrics/" + name + ".json"));
    const int n = g["num_videos"], c = g["num_classes"];
    std::vector<float> scores, labels;
    for (const auto& row : g["scores"]) for (double v : row) scores.push_back(static_cast<float>(v));
    for (const auto& row : g["labels"]) for (int v : row) labels.push_back(static_cast<float>(v));
    for (const auto& expected : g["cases"]) {
      const int top_k = expected["top_k"];
      SCOPED_TRACE("top_k " + std::to_string(top_k));
      const MetricsReport r = compute_metrics(scores.data(), labels.data(), n, c,
                                              options({1, 2, 3, 5, 10}, top_k, g["threshold"].get<float>()));
      for (const auto& [k, value] : g["hit_at"].items()) EXPECT_NEAR(r.hit_at.at(std::stoi(k)), value.get<double>(), 1e-9);
      EXPECT_NEAR(r.yt8m_hit1, g["yt8m_hit1"].get<double>(), 1e-9);
      EXPECT_NEAR(r.perr, g["perr"].get<double>(), 1e-9);
      EXPECT_NEAR(r.gap, expected["gap"].get<double>(), 1e-9);
      EXPECT_NEAR(r.gap_low, expected["gap"].get<double>(), 1e-9);   // no ties in the data
      EXPECT_NEAR(r.gap_high, expected["gap"].get<double>(), 1e-9);
      EXPECT_NEAR(r.map, expected["map"].get<double>(), 1e-9);
      for (int j = 0; j < c; ++j) {
        const auto& want = g["per_class"][j];
        const ClassMetrics& got = r.per_class[j];
        EXPECT_NEAR(got.ap, expected["class_ap"][j].get<double>(), 1e-9) << "class " << j;
        EXPECT_EQ(got.support, want["support"].get<std::size_t>());
        EXPECT_EQ(got.predicted, want["predicted"].get<std::size_t>());
        EXPECT_EQ(got.true_positives, want["true_positives"].get<std::size_t>());
        EXPECT_NEAR(got.precision, want["precision"].get<double>(), 1e-9);
        EXPECT_NEAR(got.recall, want["recall"].get<double>(), 1e-9);
        EXPECT_NEAR(got.f1, want["f1"].get<double>(), 1e-9);
      }
      for (const char* key : {"precision", "recall", "f1"}) {
        const auto pick = [key](const PrecisionRecallF1& v) {
          return std::string(key) == "precision" ? v.precision : std::string(key) == "recall" ? v.recall : v.f1;
        };
        EXPECT_NEAR(pick(r.micro), g["micro"][key].get<double>(), 1e-9) << key;
        EXPECT_NEAR(pick(r.macro), g["macro"][key].get<double>(), 1e-9) << key;
      }
    }
  }
}

TEST(Metrics, RejectsBadOptionsAndNaN) {
  EXPECT_EQ(error_of([] { MetricsAccumulator(3, options({1, 11}, 20)); }),
            "Hit@k needs 1 <= k <= 10 (the original keeps only the top 10 scores), got k = 11");
  EXPECT_EQ(error_of([] { MetricsAccumulator(3, options({0}, 20)); }).substr(0, 21), "Hit@k needs 1 <= k <=");
  EXPECT_EQ(error_of([] { MetricsAccumulator(3, options({1}, 0)); }), "GAP@k needs k >= 1, got 0");
  EXPECT_EQ(error_of([] { MetricsAccumulator(0); }), "metrics need num_classes >= 1, got 0");
  MetricsAccumulator acc(3);
  const std::vector<float> scores = {0.1f, 0.2f, 0.3f, 0.1f, 0.2f, std::numeric_limits<float>::quiet_NaN()};
  const std::vector<float> labels(6, 0.0f);
  EXPECT_EQ(error_of([&] { acc.add(scores.data(), labels.data(), 2); }), "score of video 1, class 2 is NaN");
  EXPECT_EQ(acc.num_videos(), 1u);  // the good video before it was added
}

TEST(Metrics, JsonCarriesEveryNumberAndTheClassNames) {
  const MetricsReport r = compute_metrics(kScores.data(), kLabels.data(), 3, 4, options({1, 2}, 20));
  const nlohmann::json j = to_json(r, {"a", "b", "c", "d"});
  EXPECT_EQ(j["num_videos"], 3);
  EXPECT_EQ(j["num_classes"], 4);
  EXPECT_DOUBLE_EQ(j["hit_at"]["2"].get<double>(), 200.0 / 3);
  EXPECT_DOUBLE_EQ(j["gap"].get<double>(), r.gap);
  EXPECT_DOUBLE_EQ(j["gap_low"].get<double>(), r.gap_low);
  EXPECT_DOUBLE_EQ(j["gap_high"].get<double>(), r.gap_high);
  EXPECT_DOUBLE_EQ(j["map"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(j["perr"].get<double>(), 1.0 / 3);
  EXPECT_DOUBLE_EQ(j["yt8m_hit1"].get<double>(), 1.0 / 3);
  EXPECT_EQ(j["top_k"], 20);
  EXPECT_DOUBLE_EQ(j["threshold"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["micro"]["f1"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(j["macro"]["precision"].get<double>(), 0.75);
  ASSERT_EQ(j["per_class"].size(), 4u);
  EXPECT_EQ(j["per_class"][2]["name"], "c");
  EXPECT_EQ(j["per_class"][2]["index"], 2);
  EXPECT_EQ(j["per_class"][0]["predicted"], 2);
  EXPECT_EQ(j["per_class"][1]["support"], 1);
  EXPECT_DOUBLE_EQ(j["per_class"][1]["ap"].get<double>(), 1.0);
  EXPECT_EQ(to_json(r, {})["per_class"][3]["name"], "class_3");
  EXPECT_EQ(error_of([&] { to_json(r, {"a"}); }), "1 class names for 4 classes");
}

TEST(Metrics, LossMeterReproducesTheOriginalsBookkeeping) {
  LossMeter m;
  m.add(32.0, 16);  // batch-summed loss 32 over 16 videos
  m.add(10.0, 4);
  EXPECT_EQ(m.count(), 20u);
  EXPECT_DOUBLE_EQ(m.original(), (32.0 * 16 + 10.0 * 4) / 20);  // 27.6
  EXPECT_DOUBLE_EQ(m.per_sample(), 42.0 / 20);
  EXPECT_DOUBLE_EQ(LossMeter().original(), 0.0);
}

TEST(Metrics, OriginalLogLine) {
  EXPECT_EQ(original_metrics_line("[TEST] Finish", 1.5, {{1, 87.5}, {2, 90.0}, {5, 99.999}}),
            "[TEST] Finish\tLoss: 1.500000,\tavg_acc1:87.50,\tavg_acc2:90.00,\tavg_acc5:100.00,");
}
