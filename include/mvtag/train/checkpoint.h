// Training checkpoints (best/, last/): a model directory (model/model_dir.h) plus
// optimizer.safetensors and state.json.
//
// Written into a staging directory and renamed into place, so a crash never leaves a
// half-written one under the final name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "mvtag/core/config/schedule.h"
#include "mvtag/core/data/class_map.h"
#include "mvtag/core/report/training_plot.h"
#include "mvtag/core/text/vocab.h"
#include "mvtag/model/model.h"
#include "mvtag/model/model_dir.h"
#include "mvtag/train/optimizer.h"

namespace mvtag {

inline constexpr const char* kOptimizerFile = "optimizer.safetensors";
inline constexpr const char* kStateFile = "state.json";

// Where training stands, enough to continue exactly.
struct TrainState {
  std::int64_t epoch = 0;           // epochs completed
  std::int64_t step = 0;            // optimizer steps taken
  std::int64_t batch_in_epoch = 0;  // batches of epoch `epoch` already done (interrupted mid-epoch)
  ValidationRecord validation;      // best validation Hit@1 so far, its epoch, validations since
  std::uint64_t seed = 0;
  std::vector<EpochPoint> history;
  std::string cpu_rng;   // LibTorch generator states, hex
  std::string cuda_rng;  // empty when training ran on the CPU
};

// A model directory (write_model_files) plus the optimizer accumulators and state.json, atomically.
void save_checkpoint(const std::string& dir, const VideoTagNetImpl& net, const Vocab& vocab,
                     const ClassMap& classes, const PaddleRmsprop& optimizer, const TrainState& state);

bool is_checkpoint(const std::string& dir);
TrainState read_train_state(const std::string& dir);
void load_optimizer_state(const std::string& dir, PaddleRmsprop& optimizer, const torch::Device& device);

// The global LibTorch generator state of a device as hex, and back.
std::string generator_state(const torch::Device& device);
void restore_generator_state(const torch::Device& device, const std::string& hex);

}  // namespace mvtag
