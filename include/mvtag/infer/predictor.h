// The inference loop shared by eval, infer and validation during training: batches from a
// Loader through the network in eval mode, without autograd, on one device.
#pragma once

#include <functional>
#include <string>

#include <torch/types.h>

#include "mvtag/batch/loader.h"
#include "mvtag/core/report/metrics.h"
#include "mvtag/model/ernie_cache.h"
#include "mvtag/model/model.h"

namespace mvtag {

// logits and probabilities are float32 CPU tensors [B, num_classes].
using PredictionSink =
    std::function<void(const Batch& batch, const torch::Tensor& logits, const torch::Tensor& probabilities)>;

// Sums a tensor over the ranks of a data-parallel run, in place (dist/process_group.h).
using TensorSum = std::function<void(torch::Tensor&)>;

struct PredictStats {
  std::size_t videos = 0;
  std::size_t skipped = 0;  // samples the loader could not read
  double seconds = 0;
};

// One pass over the loader (epoch 0, file order unless the loader shuffles). When the loader
// buckets by length, the sink still sees the list's order and the batches an unbucketed pass
// would make (results are kept until the pass ends). Restores the
// network's training flag afterwards. `label` names the progress line ("" = no progress line).
// With a `cache` of the loader's data set (a frozen ERNIE's outputs), ERNIE is not run again.
// A sharded loader (data parallelism) needs `sum`: each rank runs its shard, the rows are then
// exchanged, and every rank's sink sees every video as one process would (videos of other ranks
// carry their list name but no video id); stats count all ranks.
PredictStats predict(VideoTagNetImpl& net, Loader& loader, const torch::Device& device, const PredictionSink& sink,
                     const std::string& label, ErnieCache* cache = nullptr, const TensorSum* sum = nullptr);

struct EvalResult {
  MetricsReport metrics;
  double loss = 0;           // per video: summed over classes, averaged over videos
  double loss_original = 0;  // the original's printed "Loss" (batch-sum bookkeeping, see LossMeter)
  PredictStats stats;
};

// Metrics and loss of the network on a labelled loader.
EvalResult evaluate(VideoTagNetImpl& net, Loader& loader, const torch::Device& device,
                    const MetricsOptions& options, const std::string& label, ErnieCache* cache = nullptr,
                    const TensorSum* sum = nullptr);

}  // namespace mvtag
