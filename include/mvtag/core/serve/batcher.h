// Micro-batching for the server: videos submitted by many request threads are grouped into one
// forward pass. A batch starts with the oldest waiting video and takes every video queued
// behind it, up to max_batch, waiting at most max_wait after that oldest video arrived (so a
// lone request is answered after max_wait, and a busy server forms batches without waiting).
// The queue holds at most max_queue videos: a request that does not fit is refused at once
// (the server answers 503), never left to wait without bound.
//
// No LibTorch here: the scoring function is given (the server passes Tagger::score).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "mvtag/core/data/dataset.h"

namespace mvtag {

class MicroBatcher {
 public:
  using Scores = std::vector<std::vector<float>>;  // one row of class probabilities per sample
  using ScoreFn = std::function<Scores(std::vector<Sample>)>;
  // Called on the batching thread after each forward pass: its size and how long it took.
  using BatchObserver = std::function<void(std::size_t batch_size, double seconds)>;

  struct Options {
    std::size_t max_batch = 32;
    std::chrono::microseconds max_wait{2000};
    std::size_t max_queue = 1024;  // videos waiting, all requests together
  };

  MicroBatcher(ScoreFn score, Options options, BatchObserver observer = {});
  ~MicroBatcher();  // stop()
  MicroBatcher(const MicroBatcher&) = delete;
  MicroBatcher& operator=(const MicroBatcher&) = delete;

  // Queues the samples of one request; the future yields their scores in the order given (or
  // the scoring function's exception). nullopt when the queue cannot take them all now, or
  // after stop(). An empty request is answered at once.
  std::optional<std::future<Scores>> submit(std::vector<Sample> samples);

  std::size_t queue_depth() const;  // videos waiting (not counting the batch being scored)
  const Options& options() const { return options_; }

  // Scores everything already queued, then ends the batching thread. Idempotent.
  void stop();

 private:
  struct Job;
  struct Item {
    std::shared_ptr<Job> job;
    std::size_t index;
    Sample sample;
    std::chrono::steady_clock::time_point queued;
  };
  void run();

  ScoreFn score_;
  Options options_;
  BatchObserver observer_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace mvtag
