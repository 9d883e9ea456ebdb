// Model directories and training checkpoints.
//
//   model directory (export, eval, infer):  model.safetensors  model.json  vocab.txt  class.txt
//   training checkpoint (best/, last/):     the same + optimizer.safetensors + state.json
//
// Both are written into a staging directory and renamed into place, so a crash never leaves a
// half-written one under the final name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "mvtag/class_map.h"
#include "mvtag/model.h"
#include "mvtag/optimizer.h"
#include "mvtag/training_plot.h"
#include "mvtag/tokenizer.h"
#include "mvtag/vocab.h"

namespace mvtag {

inline constexpr const char* kOptimizerFile = "optimizer.safetensors";
inline constexpr const char* kStateFile = "state.json";

// Where training stands, enough to continue exactly.
struct TrainState {
  std::int64_t epoch = 0;           // epochs completed
  std::int64_t step = 0;            // optimizer steps taken
  std::int64_t batch_in_epoch = 0;  // batches of epoch `epoch` already done (interrupted mid-epoch)
  double best_hit1 = 0.0;           // best validation Hit@1 so far (percent)
  std::int64_t best_epoch = 0;      // 1-based epoch of best_hit1; 0 = none yet
  std::int64_t bad_validations = 0; // validations since the last improvement
  std::uint64_t seed = 0;
  std::vector<EpochPoint> history;
  std::string cpu_rng;   // LibTorch generator states, hex
  std::string cuda_rng;  // empty when training ran on the CPU
};

// Writes model.safetensors, model.json, vocab.txt and class.txt into an existing directory
// (callers building a larger directory make it atomic themselves).
void write_model_files(const std::string& dir, const VideoTagNetImpl& net, const Vocab& vocab,
                       const ClassMap& classes);
// The same into `dir`, atomically.
void save_model_directory(const std::string& dir, const VideoTagNetImpl& net, const Vocab& vocab,
                          const ClassMap& classes);
// The same plus the optimizer accumulators and state.json.
void save_checkpoint(const std::string& dir, const VideoTagNetImpl& net, const Vocab& vocab,
                     const ClassMap& classes, const PaddleRmsprop& optimizer, const TrainState& state);

// A model directory loaded for eval/infer/export: the network (eval mode, on `device`), its
// vocabulary and class names. Errors name the directory and the missing file.
struct LoadedModel {
  VideoTagNet net;
  Tokenizer tokenizer;
  ClassMap classes;
  std::string dir;
};
LoadedModel load_model_directory(const std::string& dir, const torch::Device& device);

bool is_checkpoint(const std::string& dir);
TrainState read_train_state(const std::string& dir);
void load_optimizer_state(const std::string& dir, PaddleRmsprop& optimizer, const torch::Device& device);

// The global LibTorch generator state of a device as hex, and back.
std::string generator_state(const torch::Device& device);
void restore_generator_state(const torch::Device& device, const std::string& hex);

}  // namespace mvtag
