#include <gtest/gtest.h>

#include "mvtag/core/base/error.h"
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
