#include <gtest/gtest.h>

#include "mvtag/core/base/error.h"
#include "mvtag/core/config/config.h"
#include "mvtag/core/config/schedule.h"

using namespace mvtag;

namespace {
ScheduleOptions original() {
  ScheduleOptions o;
  o.learning_rate = 0.0007;
  o.decay_gamma = 0.2;
  o.decay_epochs = {5, 10, 15, 20};
  o.steps_per_epoch = 70000.0 / 64.0;  // 1093.75, as the original computes it
  return o;
}
}  // namespace

TEST(Schedule, OriginalBoundariesAreFractional) {
  LearningRateSchedule s(original());
  ASSERT_EQ(s.boundaries().size(), 4u);
  EXPECT_DOUBLE_EQ(s.boundaries()[0], 5468.75);
  EXPECT_DOUBLE_EQ(s.boundaries()[1], 10937.5);
  EXPECT_DOUBLE_EQ(s.boundaries()[2], 16406.25);
  EXPECT_DOUBLE_EQ(s.boundaries()[3], 21875.0);
}

TEST(Schedule, PiecewiseValuesSwitchAfterTheBoundary) {
  LearningRateSchedule s(original());
  EXPECT_DOUBLE_EQ(s.at(0), 7e-4);
  EXPECT_DOUBLE_EQ(s.at(5468), 7e-4);      // 5468 < 5468.75
  EXPECT_DOUBLE_EQ(s.at(5469), 7e-4 * 0.2);  // 1.4e-4
  EXPECT_DOUBLE_EQ(s.at(10937), 7e-4 * 0.2);
  EXPECT_DOUBLE_EQ(s.at(10938), 7e-4 * 0.2 * 0.2);
  EXPECT_DOUBLE_EQ(s.at(21874), 7e-4 * 0.2 * 0.2 * 0.2);
  EXPECT_DOUBLE_EQ(s.at(21875), 7e-4 * 0.2 * 0.2 * 0.2 * 0.2);  // 21875 is not < 21875.0
  EXPECT_DOUBLE_EQ(s.at(1000000), 7e-4 * 0.2 * 0.2 * 0.2 * 0.2);
}

TEST(Schedule, LinearWarmupRampsToTheScheduledRate) {
  ScheduleOptions o = original();
  o.steps_per_epoch = 4.0;
  o.warmup_epochs = 1.0;  // 4 warmup steps
  LearningRateSchedule s(o);
  EXPECT_DOUBLE_EQ(s.at(0), 7e-4 * 0.25);
  EXPECT_DOUBLE_EQ(s.at(1), 7e-4 * 0.5);
  EXPECT_DOUBLE_EQ(s.at(3), 7e-4);
  EXPECT_DOUBLE_EQ(s.at(4), 7e-4);
  EXPECT_DOUBLE_EQ(s.at(20), 7e-4 * 0.2);  // boundary 5 * 4 = 20
}

TEST(Schedule, NoDecayEpochsKeepsTheBaseRate) {
  ScheduleOptions o;
  o.learning_rate = 0.01;
  o.decay_epochs = {};
  LearningRateSchedule s(o);
  EXPECT_DOUBLE_EQ(s.at(0), 0.01);
  EXPECT_DOUBLE_EQ(s.at(123456), 0.01);
}

TEST(Schedule, RejectsANonPositiveEpochSize) {
  ScheduleOptions o = original();
  o.steps_per_epoch = 0;
  EXPECT_THROW(LearningRateSchedule{o}, Error);
}

// ---- The recipe that trains as the original did (docs/COMPAT.md) ---------------------------------

namespace {
// The original's loop (train.py + utils.py): a counter starts at 20; a validation whose Hit@1 is
// not > best (best starts at 0) takes one off, a better one sets it back to 20; an epoch starts
// only while the counter is >= 0. Returns the number of epochs trained.
int original_epochs_trained(const std::vector<double>& hit1_per_epoch) {
  int counter = 20;
  double best = 0;
  int epochs = 0;
  for (double hit1 : hit1_per_epoch) {
    if (counter < 0) break;
    ++epochs;
    if (hit1 > best) {
      best = hit1;
      counter = 20;
    } else {
      --counter;
    }
  }
  return epochs;
}

// mvtag's loop, through the code the trainer uses.
int mvtag_epochs_trained(const std::vector<double>& hit1_per_epoch, int early_stop) {
  ValidationRecord record;
  int epochs = 0;
  for (double hit1 : hit1_per_epoch) {
    ++epochs;
    record.record(hit1, epochs);
    if (record.should_stop(early_stop)) break;
  }
  return epochs;
}

Config original_recipe() {
  return load_config(std::string(MVTAG_SOURCE_DIR) + "/conf/conf.txt",
                     {"TRAIN.warmup_epoch=0", "TRAIN.early_stop=21", "TRAIN.reshuffle=False"});
}
}  // namespace

TEST(Schedule, TheOriginalRecipeGivesTheOriginalLearningRates) {
  const LearningRateSchedule s(schedule_options_for(original_recipe()));
  EXPECT_EQ(s.warmup_steps(), 0.0);
  EXPECT_EQ(s.boundaries(), (std::vector<double>{5468.75, 10937.5, 16406.25, 21875.0}));
  ASSERT_EQ(s.values().size(), 5u);
  EXPECT_DOUBLE_EQ(s.at(0), 7e-4);  // no warmup: the full rate from the first step
  EXPECT_DOUBLE_EQ(s.at(5469), 7e-4 * 0.2);
  EXPECT_DOUBLE_EQ(s.at(21875), 7e-4 * 0.2 * 0.2 * 0.2 * 0.2);
  // conf/conf.txt as shipped warms up over 5 nominal epochs: not the original.
  const LearningRateSchedule shipped(schedule_options_for(load_config(std::string(MVTAG_SOURCE_DIR) + "/conf/conf.txt")));
  EXPECT_LT(shipped.at(0), 7e-4);
}

TEST(EarlyStopping, TheOriginalRecipeStopsAtTheOriginalsEpoch) {
  const int early_stop = original_recipe().train.early_stop;
  EXPECT_EQ(early_stop, 21);
  std::vector<std::vector<double>> runs;
  // One best, then nothing better: the original trains 1 + 21 epochs.
  runs.push_back({50});
  runs.back().resize(40, 40.0);
  // Improvements at epochs 1, 5 and 20, then a plateau.
  std::vector<double> r(60, 10.0);
  r[0] = 20;
  r[4] = 30;
  r[19] = 31;
  runs.push_back(r);
  // A tie is not an improvement (the original compares with >).
  runs.push_back(std::vector<double>(30, 25.0));
  // Never stops within 30 epochs when it keeps improving.
  std::vector<double> rising;
  for (int i = 0; i < 30; ++i) rising.push_back(i + 1.0);
  runs.push_back(rising);
  for (const auto& run : runs) {
    EXPECT_EQ(mvtag_epochs_trained(run, early_stop), original_epochs_trained(run));
  }
  EXPECT_EQ(mvtag_epochs_trained(runs[0], early_stop), 22);
  EXPECT_EQ(mvtag_epochs_trained(runs[1], early_stop), 41);
  // The shipped conf.txt's early_stop = 15 stops sooner.
  EXPECT_EQ(mvtag_epochs_trained(runs[0], 15), 16);
  EXPECT_FALSE(original_recipe().train.reshuffle);
}

TEST(EarlyStopping, FirstValidationIsAlwaysABestAndZeroMeansNever) {
  ValidationRecord record;
  EXPECT_TRUE(record.record(0.0, 1));  // the first one, even at 0
  EXPECT_EQ(record.best_epoch, 1);
  EXPECT_FALSE(record.record(0.0, 2));
  EXPECT_TRUE(record.record(0.5, 3));
  EXPECT_EQ(record.bad_validations, 0);
  for (int e = 4; e < 100; ++e) record.record(0.1, e);
  EXPECT_FALSE(record.should_stop(0));
  EXPECT_TRUE(record.should_stop(96));
  EXPECT_FALSE(record.should_stop(97));
}
