#include "mvtag/core/config/schedule.h"

#include <cmath>

#include "mvtag/core/base/error.h"

namespace mvtag {

LearningRateSchedule::LearningRateSchedule(ScheduleOptions o) {
  if (!(o.steps_per_epoch > 0)) {
    throw_error(ErrorKind::Config, "steps per epoch must be positive (num_samples / batch_size), got " +
                                       std::to_string(o.steps_per_epoch));
  }
  if (o.warmup_epochs < 0) throw_error(ErrorKind::Config, "warmup_epoch must not be negative");
  double factor = 1.0;
  values_.push_back(o.learning_rate);
  for (double e : o.decay_epochs) {
    boundaries_.push_back(e * o.steps_per_epoch);
    factor *= o.decay_gamma;
    values_.push_back(o.learning_rate * factor);
  }
  warmup_steps_ = o.warmup_epochs * o.steps_per_epoch;
}

double LearningRateSchedule::at(std::int64_t step) const {
  const double s = static_cast<double>(step);
  double lr = values_.back();
  for (std::size_t i = 0; i < boundaries_.size(); ++i) {
    if (s < boundaries_[i]) {
      lr = values_[i];
      break;
    }
  }
  // Linear warmup from lr/warmup_steps on the first step to the full rate (Paddle's
  // LinearWarmup shifted by one step so that no step runs with a rate of exactly zero).
  if (warmup_steps_ > 0 && s < warmup_steps_) lr *= std::min(1.0, (s + 1.0) / warmup_steps_);
  return lr;
}

ScheduleOptions schedule_options_for(const Config& config) {
  ScheduleOptions so;
  so.learning_rate = config.train.learning_rate;
  so.decay_gamma = config.train.decay_gamma;
  so.decay_epochs.assign(config.train.decay_epochs.begin(), config.train.decay_epochs.end());
  so.steps_per_epoch = static_cast<double>(config.train.num_samples) / config.train.batch_size;
  so.warmup_epochs = config.train.warmup_epoch;
  return so;
}

bool ValidationRecord::record(double hit1, std::int64_t epoch) {
  if (best_epoch == 0 || hit1 > best_hit1) {
    best_hit1 = hit1;
    best_epoch = epoch;
    bad_validations = 0;
    return true;
  }
  ++bad_validations;
  return false;
}

}  // namespace mvtag
