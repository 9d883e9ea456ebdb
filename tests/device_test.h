// Device-parameterised torch tests, in the style of CTranslate2: a test written once with
// TEST_P on a fixture derived from DeviceTest runs once per device of the binary it is linked
// into. torch_tests runs the CPU instances (tests/torch_main_cpu.cpp), torch_gpu_tests the CUDA
// ones (tests/torch_main_gpu.cpp, ctest label "gpu"); a CUDA instance without CUDA is skipped
// with a message, never failed.
//
//   class WidgetOnDevice : public mvtag::test::DeviceTest {};
//   TEST_P(WidgetOnDevice, Works) { const torch::Device device = GetParam(); ... }
//   MVTAG_INSTANTIATE_DEVICE_TESTS(WidgetOnDevice);
//
// Build modules and inputs as before, move them to `device`, run, and compare the results
// (moved back to the CPU) against the same expectations.
#pragma once

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace mvtag::test {

// The devices the parameterised tests are instantiated for. The binary's main sets it before
// testing::InitGoogleTest, which is when GoogleTest evaluates the parameter generators.
inline std::vector<torch::Device>& devices_under_test() {
  static std::vector<torch::Device> devices;
  return devices;
}

class DeviceTest : public ::testing::TestWithParam<torch::Device> {
 protected:
  void SetUp() override {
    if (GetParam().is_cuda() && !torch::cuda::is_available()) {
      GTEST_SKIP() << "CUDA is not available (CPU-only LibTorch build or no GPU): skipped";
    }
    if (GetParam().is_cuda()) {
      // Full float32 on the GPU: the goldens' tolerances are for float32, not TensorFloat-32.
      at::globalContext().setAllowTF32CuBLAS(false);
      at::globalContext().setAllowTF32CuDNN(false);
    }
  }
};

// "cpu" or "cuda" (the test names end in /cpu or /cuda); "cuda1" etc. for further GPUs.
inline std::string device_name(const ::testing::TestParamInfo<torch::Device>& info) {
  const torch::Device& d = info.param;
  if (d.is_cuda()) return d.has_index() && d.index() > 0 ? "cuda" + std::to_string(d.index()) : "cuda";
  return d.is_cpu() ? "cpu" : "device" + std::to_string(info.index);
}

}  // namespace mvtag::test

#define MVTAG_INSTANTIATE_DEVICE_TESTS(Suite)                                                         \
  INSTANTIATE_TEST_SUITE_P(Devices, Suite, ::testing::ValuesIn(::mvtag::test::devices_under_test()), \
                           ::mvtag::test::device_name)
