// Turns a Dataset into padded batches on background threads: workers read feature files and
// collate while the model computes. Batches come out in a fixed order whatever the thread
// timing, so a seed gives the same run.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "mvtag/batch/batch.h"
#include "mvtag/core/data/dataset.h"

namespace mvtag {

// Pads samples into one batch (text padded with pad_id).
Batch collate(std::vector<Sample> samples, int num_classes, std::int64_t pad_id);

// Length bucketing for passes that do not shuffle (inference, evaluation, validation): videos of
// similar length go into the same batch, so less of each batch is padding. The batch a video lands
// in changes its outputs only by float rounding (≤ 1e-5); predict() hands results back in the
// list's order and batch layout. Training never buckets: it would change which videos share a
// batch, and so the shuffle's statistics (docs/PERFORMANCE.md, "No padding work").
enum class Bucketing {
  None,    // the list's order
  Title,   // titles by token count (the whole list, known before any file is read), then frames
           // within each pool: for passes where ERNIE runs, the costliest stage
  Frames,  // image frames, then audio frames, within each pool: for passes whose ERNIE outputs are
           // cached, where the LSTMs dominate
};

struct LoaderOptions {
  std::size_t batch_size = 64;
  int num_workers = 2;      // 0 = load on the calling thread
  std::size_t prefetch = 4; // batches loaded ahead per worker
  bool shuffle = false;
  bool reshuffle = true;  // with shuffle: a new order every epoch; false: epoch 0's order every epoch
  std::uint64_t seed = 0;
  Bucketing bucketing = Bucketing::None;  // only without shuffle
  // Frame counts are known only once a feature file is read, so a worker reads this many batches
  // at once and sorts them among themselves (more: less padding, more memory in flight).
  std::size_t bucket_pool = 4;
  // Data parallelism: this process reads shard `shard` of `num_shards`, its contiguous part of
  // every batch (a batch of m samples splits at m·r/num_shards). Batches keep their global
  // numbering and size (batch_size is the global batch); a part may be empty, and next() then
  // hands out the empty batch instead of skipping it, so every rank takes the same steps.
  int num_shards = 1;
  int shard = 0;
};

// What bucketing sorts by: a video's title tokens, image frames and audio frames, and its dataset
// index (the last tie-break, so the order is deterministic).
struct VideoLengths {
  std::int64_t title = 0, frames = 0, audio = 0;
  std::size_t index = 0;
};
// The order in which videos are batched: positions into `videos`, sorted by the bucketing's key.
std::vector<std::size_t> bucket_order(const std::vector<VideoLengths>& videos, Bucketing bucketing);
// The same for a pool of loaded samples.
std::vector<std::size_t> bucket_order(const std::vector<Sample>& samples, Bucketing bucketing);

// The order of one epoch: 0..n-1, shuffled from (seed, epoch) when `shuffle`. Our own
// Fisher-Yates over a SplitMix64 stream, so the order is the same on every platform.
std::vector<std::size_t> epoch_order(std::size_t n, bool shuffle, std::uint64_t seed, std::int64_t epoch);

class Loader {
 public:
  Loader(const Dataset& dataset, LoaderOptions options, std::int64_t pad_id);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Starts a pass over the data; `skip_batches` resumes inside an epoch.
  void start_epoch(std::int64_t epoch, std::size_t skip_batches = 0);
  // The next batch of the epoch, or nullopt at its end. Samples whose feature file cannot be
  // read are logged by name and left out (counted in skipped()); a batch that loses every
  // sample is skipped (unless sharded: see LoaderOptions::num_shards). Any other failure on a
  // worker is rethrown here.
  std::optional<Batch> next();

  std::size_t batches_per_epoch() const;
  // Samples this shard reads in an epoch (the data set's size when not sharded).
  std::size_t samples_per_epoch() const;
  std::size_t dataset_size() const { return dataset_.size(); }
  std::size_t batch_size() const { return options_.batch_size; }
  // True when batches do not follow the list's order (bucketing).
  bool reorders() const { return options_.bucketing != Bucketing::None; }
  bool sharded() const { return options_.num_shards > 1; }
  const Dataset& dataset() const { return dataset_; }
  // Position of the next batch within the epoch (for checkpoints).
  std::size_t position() const { return next_batch_; }
  // Samples left out so far in this epoch, with the reason for each.
  const std::vector<std::string>& skipped() const { return skipped_; }

 private:
  struct Slot {
    Batch batch;
    std::vector<std::string> errors;
  };
  void stop_workers();
  void worker_loop();
  // Batches are loaded in units: one batch, or a pool of `bucket_pool` batches when bucketing.
  std::size_t unit_batches() const { return reorders() ? options_.bucket_pool : 1; }
  // Positions [first, last) in the epoch's order of this shard's part of batch `b`.
  std::pair<std::size_t, std::size_t> shard_part(std::size_t b) const;
  // Loads the unit that starts at batch `first`: its batches in order (some may be empty when
  // samples could not be read; their errors go with the unit's first batch).
  std::vector<Slot> load_unit(std::size_t first) const;

  const Dataset& dataset_;
  LoaderOptions options_;
  std::int64_t pad_id_;

  std::vector<std::size_t> order_;
  std::size_t next_batch_ = 0;   // next batch handed out by next()
  std::size_t next_claim_ = 0;   // next batch a worker will load
  std::size_t num_batches_ = 0;
  bool stopping_ = false;

  std::map<std::size_t, Slot> ready_;
  std::exception_ptr failure_;
  std::vector<std::string> skipped_;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
};

}  // namespace mvtag
