// A frozen ERNIE's output per title, computed once instead of once per epoch.
//
// With MODEL.ernie_freeze, ERNIE's weights never change, so in eval mode its output for a title
// is the same every epoch. The cache encodes every title of a data set (in fixed chunks of titles
// of similar length, chosen by the data set alone, so the values do not depend on the shuffle, the
// batch or a resume) and stores the rows of the real tokens, float32 or float16, up to a memory
// budget; titles beyond the budget are encoded with their batch when they come (eval mode, no
// autograd). encode() gives a batch's padded [B, L, hidden] tensor, which the network reads
// instead of running ERNIE (NetInput::text_encoded).
//
// Exactness: for validation this changes nothing but rounding (eval mode is what validation
// runs anyway). For training it drops ERNIE's own dropout noise, which the original applied even
// with ERNIE frozen: TRAIN.ernie_cache chooses (docs/COMPAT.md has the measurements).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "mvtag/core/text/tokenizer.h"
#include "mvtag/model/ernie.h"

namespace mvtag {

struct ErnieCacheOptions {
  std::size_t budget_bytes = std::size_t{2048} << 20;
  bool fp16 = false;       // store half precision (half the memory; rounding ~1e-3 relative)
  std::size_t chunk = 64;  // titles per ERNIE pass while filling
  std::string label;       // names the progress line and the log ("training titles")
  // Data parallelism: rank `shard` of `num_shards` encodes every num_shards-th chunk, then `sum`
  // (a sum over the ranks, in place) fills in the others' rows, which are zeros here: every rank
  // ends with the whole cache after encoding 1/num_shards of it.
  int num_shards = 1;
  int shard = 0;
  std::function<void(torch::Tensor&)> sum;
};

struct ErnieCacheStats {
  std::size_t titles = 0;         // in the data set
  std::size_t cached = 0;         // stored (the first ones, in data set order)
  std::size_t bytes = 0;          // held by the stored rows
  std::size_t encoded_later = 0;  // encode() calls' titles that were not stored (over budget)
  double fill_seconds = 0;
};

class ErnieCache {
 public:
  // Encodes and stores the titles (token ids with [CLS]/[SEP], as the loader batches them) that
  // fit the budget, with `ernie` in eval mode and no autograd, on `device`. `pad_id` pads chunks.
  ErnieCache(ErnieImpl& ernie, const std::vector<TextRecord>& titles, std::int64_t pad_id, const torch::Device& device,
             const ErnieCacheOptions& options);

  // ERNIE's output for a batch: [B, L, hidden] float32 on the device of `ids`, zero at padded
  // positions (which TextCNN never reads). `keys` are the titles' positions in the data set;
  // `ids` / `lengths` the batch's padded token ids [B, L] and lengths [B].
  torch::Tensor encode(const std::vector<std::size_t>& keys, const torch::Tensor& ids, const torch::Tensor& lengths);

  const ErnieCacheStats& stats() const { return stats_; }
  std::int64_t hidden_size() const { return hidden_; }

 private:
  torch::Tensor run_ernie(const torch::Tensor& ids, const torch::Tensor& lengths);

  ErnieImpl& ernie_;
  std::int64_t hidden_;
  torch::Device device_;
  // Row 0 is zeros (padding); title k's tokens are rows offset_[k] + 1 .. offset_[k] + length_[k].
  torch::Tensor rows_;
  std::vector<std::int64_t> offset_;  // -1: not stored
  std::vector<std::int64_t> length_;
  ErnieCacheStats stats_;
};

}  // namespace mvtag
