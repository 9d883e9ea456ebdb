#include "mvtag/runtime/device.h"

#include "mvtag/runtime/runtime.h"

namespace mvtag {

torch::Device resolve_device(const Config& cfg, const std::string& device) {
  if (!device.empty()) return choose_device(device);
  return choose_device(cfg.train.use_gpu ? "cuda" : "cpu");
}

}  // namespace mvtag
