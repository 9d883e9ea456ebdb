// Micro-batching (core/serve/batcher.h) with a fake scoring function: results go back to the
// right request in the right order, concurrent requests share batches, the queue is bounded,
// a failing batch fails only its requests, and stop() answers what was queued.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "mvtag/core/serve/batcher.h"

using namespace mvtag;
using namespace std::chrono_literals;

namespace {

Sample sample(float value) {
  Sample s;
  s.video_id = std::to_string(value);
  s.rgb.rows = 1;
  s.rgb.cols = 1;
  s.rgb.data = {value};
  return s;
}

// Scores a sample as {value, 2 * value}; records the batch sizes.
struct FakeNet {
  std::mutex mutex;
  std::vector<std::size_t> batches;
  std::chrono::milliseconds delay{0};
  std::shared_future<void> gate;  // when set, every batch waits for it
  MicroBatcher::Scores operator()(std::vector<Sample> samples) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      batches.push_back(samples.size());
    }
    if (gate.valid()) gate.wait();
    std::this_thread::sleep_for(delay);
    MicroBatcher::Scores out;
    for (const auto& s : samples) {
      if (s.rgb.data[0] < 0) throw std::runtime_error("negative input");
      out.push_back({s.rgb.data[0], 2 * s.rgb.data[0]});
    }
    return out;
  }
};

}  // namespace

TEST(MicroBatcher, AnswersInTheOrderGiven) {
  FakeNet net;
  MicroBatcher b([&](std::vector<Sample> s) { return net(std::move(s)); }, {});
  auto f = b.submit({sample(1), sample(2), sample(3)});
  ASSERT_TRUE(f.has_value());
  const auto scores = f->get();
  ASSERT_EQ(scores.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(scores[i], (std::vector<float>{i + 1.0f, 2 * (i + 1.0f)}));
  auto empty = b.submit({});
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->get().empty());
}

TEST(MicroBatcher, ConcurrentRequestsShareABatchUpToMaxBatch) {
  FakeNet net;
  MicroBatcher::Options o;
  o.max_batch = 4;
  o.max_wait = 10s;  // a batch forms as soon as four videos wait, without waiting this long
  MicroBatcher b([&](std::vector<Sample> s) { return net(std::move(s)); }, o);
  std::vector<std::future<MicroBatcher::Scores>> futures;
  for (int i = 0; i < 8; ++i) futures.push_back(*b.submit({sample(static_cast<float>(i))}));
  for (int i = 0; i < 8; ++i) EXPECT_EQ(futures[i].get()[0][0], static_cast<float>(i));
  EXPECT_EQ(net.batches, (std::vector<std::size_t>{4, 4}));
}

TEST(MicroBatcher, ALargeRequestIsSplitAcrossBatches) {
  FakeNet net;
  MicroBatcher::Options o;
  o.max_batch = 3;
  MicroBatcher b([&](std::vector<Sample> s) { return net(std::move(s)); }, o);
  std::vector<Sample> many;
  for (int i = 0; i < 7; ++i) many.push_back(sample(static_cast<float>(i)));
  const auto scores = b.submit(std::move(many))->get();
  ASSERT_EQ(scores.size(), 7u);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(scores[i][1], 2.0f * i);
  EXPECT_EQ(net.batches, (std::vector<std::size_t>{3, 3, 1}));
}

TEST(MicroBatcher, AFullQueueRefusesAtOnce) {
  FakeNet net;
  std::promise<void> open;
  net.gate = open.get_future().share();
  MicroBatcher::Options o;
  o.max_batch = 1;
  o.max_wait = 0ms;
  o.max_queue = 2;
  MicroBatcher b([&](std::vector<Sample> s) { return net(std::move(s)); }, o);
  auto first = b.submit({sample(1)});  // taken by the worker, which then waits at the gate
  ASSERT_TRUE(first.has_value());
  while (b.queue_depth() != 0) std::this_thread::yield();
  auto second = b.submit({sample(2), sample(3)});  // fills the queue
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(b.queue_depth(), 2u);
  EXPECT_FALSE(b.submit({sample(4)}).has_value());
  open.set_value();
  EXPECT_EQ(second->get().size(), 2u);
  EXPECT_TRUE(b.submit({sample(5)}).has_value());
}

TEST(MicroBatcher, AFailingBatchFailsItsRequestsOnly) {
  FakeNet net;
  MicroBatcher::Options o;
  o.max_batch = 1;
  MicroBatcher b([&](std::vector<Sample> s) { return net(std::move(s)); }, o);
  auto bad = b.submit({sample(1), sample(-1), sample(2)});
  auto good = b.submit({sample(4)});
  EXPECT_THROW(bad->get(), std::runtime_error);
  EXPECT_EQ(good->get()[0][0], 4.0f);
}

TEST(MicroBatcher, StopAnswersWhatIsQueuedThenRefuses) {
  FakeNet net;
  net.delay = 50ms;
  MicroBatcher::Options o;
  o.max_batch = 1;
  std::atomic<std::size_t> observed{0};
  MicroBatcher b([&](std::vector<Sample> s) { return net(std::move(s)); }, o,
                 [&](std::size_t n, double seconds) {
                   EXPECT_GE(seconds, 0.0);
                   observed += n;
                 });
  auto a = b.submit({sample(1), sample(2), sample(3)});
  b.stop();
  EXPECT_EQ(a->get().size(), 3u);
  EXPECT_EQ(observed.load(), 3u);
  EXPECT_FALSE(b.submit({sample(1)}).has_value());
}
