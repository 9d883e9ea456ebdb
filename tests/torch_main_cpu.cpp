// torch_tests: every torch test, the device-parameterised ones on the CPU.
#include <gtest/gtest.h>

#include "device_test.h"

int main(int argc, char** argv) {
  mvtag::test::devices_under_test() = {torch::Device(torch::kCPU)};
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
