#include "mvtag/core/serve/batcher.h"

#include <algorithm>
#include <exception>
#include <stdexcept>

namespace mvtag {

struct MicroBatcher::Job {
  std::promise<Scores> promise;
  Scores scores;
  std::size_t remaining = 0;
  bool failed = false;
};

MicroBatcher::MicroBatcher(ScoreFn score, Options options, BatchObserver observer)
    : score_(std::move(score)), options_(options), observer_(std::move(observer)) {
  if (options_.max_batch == 0) options_.max_batch = 1;
  worker_ = std::thread([this] { run(); });
}

MicroBatcher::~MicroBatcher() { stop(); }

std::optional<std::future<MicroBatcher::Scores>> MicroBatcher::submit(std::vector<Sample> samples) {
  auto job = std::make_shared<Job>();
  std::future<Scores> result = job->promise.get_future();
  if (samples.empty()) {
    job->promise.set_value({});
    return result;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || queue_.size() + samples.size() > options_.max_queue) return std::nullopt;
    job->remaining = samples.size();
    job->scores.resize(samples.size());
    const auto now = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < samples.size(); ++i) queue_.push_back(Item{job, i, std::move(samples[i]), now});
  }
  wake_.notify_one();
  return result;
}

std::size_t MicroBatcher::queue_depth() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size();
}

void MicroBatcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void MicroBatcher::run() {
  for (;;) {
    std::vector<Item> batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left
      const auto deadline = queue_.front().queued + options_.max_wait;
      wake_.wait_until(lock, deadline, [this] { return stopping_ || queue_.size() >= options_.max_batch; });
      const std::size_t n = std::min(options_.max_batch, queue_.size());
      batch.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::vector<Sample> samples;
    samples.reserve(batch.size());
    for (auto& item : batch) samples.push_back(std::move(item.sample));
    const auto start = std::chrono::steady_clock::now();
    Scores scores;
    std::exception_ptr error;
    try {
      scores = score_(std::move(samples));
      if (scores.size() != batch.size()) throw std::runtime_error("the scoring function returned the wrong number of rows");
    } catch (...) {
      error = std::current_exception();
    }
    if (observer_) {
      observer_(batch.size(), std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      Job& job = *batch[i].job;
      if (job.failed) continue;
      if (error) {
        job.failed = true;
        job.promise.set_exception(error);
        continue;
      }
      job.scores[batch[i].index] = std::move(scores[i]);
      if (--job.remaining == 0) job.promise.set_value(std::move(job.scores));
    }
  }
}

}  // namespace mvtag
