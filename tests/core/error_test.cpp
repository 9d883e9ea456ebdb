#include <gtest/gtest.h>

#include "mvtag/core/base/error.h"

using namespace mvtag;

TEST(Error, FormatsEveryPartOfTheLocation) {
  Location where;
  where.file = "conf/conf.txt";
  where.line = 12;
  where.key = "TRAIN.epoch";
  Error e(ErrorKind::Config, "expected an integer, got 'abc'", where);
  EXPECT_STREQ(e.what(), "conf/conf.txt:12: key 'TRAIN.epoch': expected an integer, got 'abc'");
  EXPECT_EQ(e.message(), "expected an integer, got 'abc'");
  EXPECT_EQ(e.exit_code(), 2);
}

TEST(Error, LeavesOutMissingParts) {
  Location where;
  where.tensor = "fc_76.w_0";
  Error e(ErrorKind::Model, "shape [3] does not match [110]", where);
  EXPECT_STREQ(e.what(), "tensor 'fc_76.w_0': shape [3] does not match [110]");
  EXPECT_EQ(e.exit_code(), 1);
  EXPECT_STREQ(Error(ErrorKind::Io, "x", at_file("a.pkl")).what(), "a.pkl: x");
}
