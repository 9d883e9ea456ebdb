// The server's Prometheus exposition (core/serve/server_metrics.h): cumulative buckets, sums
// and counts computed by hand, label escaping.
#include <gtest/gtest.h>

#include <string>

#include "mvtag/core/serve/server_metrics.h"
#include "test_util.h"

using namespace mvtag;
using mvtag::test::contains;

TEST(ServerMetrics, HistogramBucketsAreCumulative) {
  Histogram h({1, 2, 4});
  for (double v : {0.5, 1.0, 1.5, 3.0, 10.0}) h.observe(v);
  EXPECT_EQ(h.count(), 5u);
  EXPECT_EQ(h.bucket(0), 2u);  // 0.5, 1 (le is inclusive)
  EXPECT_EQ(h.bucket(1), 1u);
  EXPECT_EQ(h.bucket(2), 1u);
  EXPECT_EQ(h.bucket(3), 1u);  // +Inf
  EXPECT_EQ(h.exposition("x", "help"),
            "# HELP x help\n# TYPE x histogram\n"
            "x_bucket{le=\"1\"} 2\nx_bucket{le=\"2\"} 3\nx_bucket{le=\"4\"} 4\nx_bucket{le=\"+Inf\"} 5\n"
            "x_sum 16\nx_count 5\n");
  EXPECT_THROW(Histogram({2, 1}), std::invalid_argument);
}

TEST(ServerMetrics, CountsRequestsBatchesAndQueue) {
  ServerMetrics m;
  m.request_started();
  m.request_finished("/v1/tag", 200, 0.003);
  m.request_started();
  m.request_finished("/v1/tag", 400, 0.001);
  m.request_finished("other", 413, -1);  // refused before it started
  m.batch_scored(1, 0.01);
  m.batch_scored(5, 0.02);
  m.batch_scored(2, 0.02);
  EXPECT_EQ(m.requests("/v1/tag", 200), 1u);
  EXPECT_EQ(m.requests("/v1/tag", 400), 1u);
  EXPECT_EQ(m.requests("/v1/tag", 503), 0u);
  EXPECT_EQ(m.batches_larger_than(1), 2u);
  EXPECT_EQ(m.batches_larger_than(4), 1u);
  const std::string text = m.prometheus_text(7);
  EXPECT_TRUE(contains(text, "mvtag_requests_total{path=\"/v1/tag\",status=\"200\"} 1\n")) << text;
  EXPECT_TRUE(contains(text, "mvtag_requests_total{path=\"other\",status=\"413\"} 1\n")) << text;
  EXPECT_TRUE(contains(text, "mvtag_request_duration_seconds_count 2\n")) << text;  // the 413 has no latency
  EXPECT_TRUE(contains(text, "mvtag_batch_size_bucket{le=\"1\"} 1\n")) << text;
  EXPECT_TRUE(contains(text, "mvtag_batch_size_bucket{le=\"8\"} 3\n")) << text;
  EXPECT_TRUE(contains(text, "mvtag_batch_size_sum 8\n")) << text;
  EXPECT_TRUE(contains(text, "mvtag_videos_tagged_total 8\n")) << text;
  EXPECT_TRUE(contains(text, "mvtag_queue_depth 7\n")) << text;
  EXPECT_TRUE(contains(text, "mvtag_requests_in_flight 0\n")) << text;
  EXPECT_TRUE(contains(text, "# TYPE mvtag_queue_depth gauge\n")) << text;
}

TEST(ServerMetrics, LabelValuesAreEscaped) { EXPECT_EQ(prometheus_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd"); }
