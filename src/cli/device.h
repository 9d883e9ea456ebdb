// --device for the verbs that run the network; the default follows TRAIN.use_gpu
// (resolve_device, mvtag/runtime/device.h).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "mvtag/runtime/device.h"

namespace mvtag::cli {

// Registers --device on `verb`, writing into `device` ("" = from TRAIN.use_gpu).
void add_device_option(CLI::App& verb, std::string& device);

}  // namespace mvtag::cli
