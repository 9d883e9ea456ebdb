// Shared helpers for the network tests: the golden fixtures of tools/make_model_goldens.py and
// a tolerance check.
#pragma once

#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mvtag/core/config/net_config.h"
#include "mvtag/core/formats/safetensors.h"
#include "mvtag/model/model.h"
#include "mvtag/model/weights.h"

namespace mvtag::test {

inline std::string model_fixture(const std::string& name) { return std::string(MVTAG_FIXTURES) + "/model/" + name; }

// One golden case ("a": text-guided + sigmoid, "b": self-attention + softmax).
struct Golden {
  NetConfig config;
  SafetensorsFile io;
  std::string weights_path;

  explicit Golden(const std::string& prefix)
      : config(read_net_config(model_fixture(prefix + "_config.json"))),
        io(read_safetensors(model_fixture(prefix + "_io.safetensors"))),
        weights_path(model_fixture(prefix + "_weights.safetensors")) {}

  // A golden tensor, on `device`.
  torch::Tensor get(const std::string& name, const torch::Device& device = torch::kCPU) const {
    const NDArray* a = io.find(name);
    if (!a) throw std::runtime_error("golden tensor '" + name + "' missing");
    return tensor_from_ndarray(*a).to(device);
  }

  NetInput input(const torch::Device& device = torch::kCPU) const {
    return {get("rgb", device),      get("rgb_len", device),  get("audio", device),
            get("audio_len", device), get("text_ids", device), get("text_len", device)};
  }

  // The network with the golden weights, in eval mode, on `device`.
  VideoTagNet net(bool freeze = true, const torch::Device& device = torch::kCPU) const {
    NetConfig c = config;
    c.ernie_freeze = freeze;
    VideoTagNet n(c);
    load_weights(*n, weights_path);
    n->to(device);
    n->eval();
    return n;
  }
};

// Compared on the CPU in float64, whatever device `actual` is on.
// |actual − expected| ≤ rel·|expected| + rel·max|expected| element-wise: relative, with an
// absolute floor scaled to the tensor's magnitude.
inline ::testing::AssertionResult close(const torch::Tensor& actual, const torch::Tensor& expected, double rel = 1e-5) {
  if (actual.sizes() != expected.sizes()) {
    return ::testing::AssertionFailure() << "shape " << actual.sizes() << " vs expected " << expected.sizes();
  }
  const auto a = actual.detach().to(torch::kCPU, torch::kFloat64);
  const auto e = expected.detach().to(torch::kCPU, torch::kFloat64);
  const double floor = rel * std::max(e.abs().max().item<double>(), 1e-12);
  const auto excess = (a - e).abs() - (e.abs() * rel + floor);
  const double worst = excess.max().item<double>();
  if (worst <= 0) return ::testing::AssertionSuccess();
  const auto at = excess.argmax().item<std::int64_t>();
  return ::testing::AssertionFailure() << "element " << at << ": " << a.flatten()[at].item<double>() << " vs expected "
                                       << e.flatten()[at].item<double>() << " (max |diff| "
                                       << (a - e).abs().max().item<double>() << ")";
}

}  // namespace mvtag::test
