// --device for the verbs that run the network; the default follows TRAIN.use_gpu.
#pragma once

#include <string>

#include <CLI/CLI.hpp>
#include <torch/types.h>

#include "mvtag/config.h"

namespace mvtag::cli {

// Registers --device on `verb`, writing into `device` ("" = from TRAIN.use_gpu).
void add_device_option(CLI::App& verb, std::string& device);

// --device when given; else CUDA when TRAIN.use_gpu is true (with a warning and the CPU when no
// CUDA device is available), else the CPU.
torch::Device resolve_device(const Config& cfg, const std::string& device);

}  // namespace mvtag::cli
