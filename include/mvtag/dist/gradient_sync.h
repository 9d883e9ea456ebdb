// Data-parallel gradients: after each rank's backward pass over its shard of the global batch,
// every trained parameter's .grad holds the sum over all ranks. The loss is a sum over samples
// (the original's), so that sum is exactly the gradient of the global batch, and 2 ranks take the
// same optimizer steps as 1 process (up to float summation order).
//
// Gradients are packed into buckets of about `bucket_bytes`, in reverse parameter order (the
// order backward produces them). A tensor hook per parameter copies its gradient into its bucket
// as soon as autograd computes it; a full bucket is all-reduced asynchronously while backward
// goes on. Buckets start in index order on every rank (a later bucket that fills first waits),
// so the collectives match across ranks.
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

#include <torch/types.h>

#include "mvtag/dist/process_group.h"

namespace mvtag {

class GradientSync {
 public:
  GradientSync(ProcessGroup& group, std::vector<torch::Tensor> params, std::size_t bucket_bytes = 16u << 20);
  ~GradientSync();
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  // Before the step's backward (or instead of it, on a rank whose shard is empty).
  void begin_step();
  // After backward: starts the buckets not yet started (a gradient that never came counts as
  // zero), waits for all of them and writes the sums into each parameter's .grad.
  void finish_step();

  std::size_t num_buckets() const { return buckets_.size(); }
  // Seconds finish_step() spent waiting for all-reduces that were still running (the part of
  // communication that backward did not hide), summed over steps.
  double wait_seconds() const { return wait_seconds_; }

 private:
  struct Slot {
    torch::Tensor param;
    std::size_t bucket = 0;
    std::int64_t offset = 0;
    bool ready = false;
    unsigned hook = 0;
  };
  struct Bucket {
    torch::Tensor flat;
    std::vector<std::size_t> slots;
    std::size_t ready = 0;
    ProcessGroup::Pending pending;
    bool started = false;
  };
  void on_gradient(std::size_t slot, const torch::Tensor& grad);
  void start_ready_buckets();  // under mutex_

  ProcessGroup& group_;
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  std::size_t next_start_ = 0;
  bool armed_ = false;
  double wait_seconds_ = 0;
  std::mutex mutex_;
};

}  // namespace mvtag
