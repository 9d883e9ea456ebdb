// The device the verbs that run the network use; the default follows TRAIN.use_gpu.
#pragma once

#include <string>

#include <torch/types.h>

#include "mvtag/core/config/config.h"

namespace mvtag {

// --device when given; else CUDA when TRAIN.use_gpu is true (with a warning and the CPU when no
// CUDA device is available), else the CPU.
torch::Device resolve_device(const Config& cfg, const std::string& device);

}  // namespace mvtag
