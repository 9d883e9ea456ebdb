// `mvtag train`: the original's training job (scenario_lib/train.py) with honest extras — per-epoch
// reshuffling from a seed, best/ and last/ checkpoints written atomically, exact resume,
// metrics.jsonl and a training-curve SVG in the save directory.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include <torch/types.h>

#include "mvtag/core/base/stop_token.h"
#include "mvtag/core/config/config.h"
#include "mvtag/core/config/net_config.h"

namespace mvtag {

struct TrainOptions {
  Config config;
  std::string save_dir = "checkpoints";
  std::string pretrain;     // model directory whose weights start the run ("" = none)
  std::string resume;       // checkpoint directory to continue exactly ("" = none)
  int valid_interval = 1;   // validate every N epochs; 0 = never
  int log_interval = 10;    // log running averages every N steps; 0 = never
  std::int64_t max_steps = 0;  // stop after this many optimizer steps in this run (0 = no limit)
  // Polled after every step and epoch: once requested, last/ is saved and train() returns
  // (interrupted). Checkpoint writes run inside its critical sections. nullptr = never stops.
  StopToken* stop = nullptr;
};

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
