// Learning-rate schedule of the original (piecewise constant decay by global step, with the
// boundaries computed from the *nominal* epoch size), plus the optional linear warmup that
// mvtag honours (the original read `warmup_epoch` but ignored it).
#pragma once

#include <cstdint>
#include <vector>

namespace mvtag {

struct ScheduleOptions {
  double learning_rate = 1e-3;
  double decay_gamma = 0.1;
  std::vector<double> decay_epochs = {5};
  // Steps per "epoch" for the boundaries: num_samples / batch_size as a float, exactly as the
  // original (70000 / 64 = 1093.75), not the real number of batches.
  double steps_per_epoch = 1.0;
  double warmup_epochs = 0.0;
};

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

}  // namespace mvtag
