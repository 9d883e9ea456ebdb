// Learning-rate schedule of the original (piecewise constant decay by global step, with the
// boundaries computed from the *nominal* epoch size), plus the optional linear warmup that
// mvtag honours (the original read `warmup_epoch` but ignored it).
#pragma once

#include <cstdint>
#include <vector>

#include "mvtag/core/config/config.h"

namespace mvtag {

// No defaults of its own (those are the TRAIN keys' in the key table): schedule_options_for()
// fills it from a configuration. The initial values only make a constant rate.
struct ScheduleOptions {
  double learning_rate = 0;
  double decay_gamma = 1;  // no decay
  std::vector<double> decay_epochs;
  // Steps per "epoch" for the boundaries: num_samples / batch_size as a float, exactly as the
  // original (70000 / 64 = 1093.75), not the real number of batches.
  double steps_per_epoch = 1.0;
  double warmup_epochs = 0.0;
};

// The schedule a configuration asks for (TRAIN.learning_rate, decay_gamma, decay_epochs,
// num_samples / batch_size, warmup_epoch).
ScheduleOptions schedule_options_for(const Config& config);

class LearningRateSchedule {
 public:
  explicit LearningRateSchedule(ScheduleOptions options);

  // The rate for the optimizer step with 0-based global index `step`.
  double at(std::int64_t step) const;

  const std::vector<double>& boundaries() const { return boundaries_; }
  const std::vector<double>& values() const { return values_; }
  double warmup_steps() const { return warmup_steps_; }

 private:
  std::vector<double> boundaries_;
  std::vector<double> values_;
  double warmup_steps_;
};

// Best-so-far bookkeeping of validation Hit@1 and early stopping.
//
// A validation is a new best when it is the first one, or when its Hit@1 beats the best
// strictly (the original: `if acc > best`). Training stops after `early_stop` validations in a
// row without a new best (0 = never). The original hard-coded a counter of 20 that dropped by
// one per validation without a new best and stopped when it went below 0, i.e. after 21 of them:
// early_stop = 21 stops at the same epoch.
struct ValidationRecord {
  double best_hit1 = 0.0;            // percent
  std::int64_t best_epoch = 0;       // 1-based epoch of best_hit1; 0 = no validation yet
  std::int64_t bad_validations = 0;  // validations since the last new best

  // Records the validation after `epoch` (1-based); true when it is a new best.
  bool record(double hit1, std::int64_t epoch);
  bool should_stop(int early_stop) const { return early_stop > 0 && bad_validations >= early_stop; }
};

}  // namespace mvtag
