// torch_gpu_tests: the device-parameterised torch tests on cuda:0 (ctest label "gpu"). Without a
// --gtest_filter (or GTEST_FILTER) only the CUDA instances are listed and run; without CUDA each
// is skipped with a message.
#include <cstdlib>
#include <cstring>

#include <gtest/gtest.h>

#include "device_test.h"

int main(int argc, char** argv) {
  mvtag::test::devices_under_test() = {torch::Device(torch::kCUDA, 0)};
  bool filtered = std::getenv("GTEST_FILTER") != nullptr;
  for (int i = 1; i < argc; ++i) filtered = filtered || std::strncmp(argv[i], "--gtest_filter", 14) == 0;
  ::testing::InitGoogleTest(&argc, argv);
  if (!filtered) ::testing::GTEST_FLAG(filter) = "*/cuda";
  return RUN_ALL_TESTS();
}
