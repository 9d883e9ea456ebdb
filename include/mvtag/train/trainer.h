// `mvtag train`: the original's training job (scenario_lib/train.py) with honest extras — per-epoch
// reshuffling from a seed, best/ and last/ checkpoints written atomically, exact resume,
// metrics.jsonl and a training-curve SVG in the save directory.
#pragma once

#include <cstdint>
#include <string>

#include <torch/types.h>

#include "mvtag/core/config/net_config.h"
#include "mvtag/train/train_options.h"

namespace mvtag {

struct TrainResult {
  std::int64_t epochs_completed = 0;
  std::int64_t steps = 0;
  double best_hit1 = 0;         // best validation Hit@1 (percent)
  std::int64_t best_epoch = 0;  // 0 = no validation ran
  std::string best_dir;         // "" when no validation ran
  std::string last_dir;
  bool early_stopped = false;
  bool interrupted = false;     // stopped by the stop token or max_steps
  int stop_reason = 0;          // the stop token's reason when it stopped the run (a signal number), else 0
  std::size_t skipped_samples = 0;
};

TrainResult train(const TrainOptions& options, const torch::Device& device);


}  // namespace mvtag
