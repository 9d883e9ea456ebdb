// eval, export and infer take the network from the model directory; the configuration's MODEL
// section should describe the same network. Differences are warned about, never silently ignored.
#pragma once

#include <string>

#include "mvtag/core/config/config.h"
#include "mvtag/core/config/net_config.h"
#include "mvtag/model/model_dir.h"

namespace mvtag::cli {

// Logs a warning per key where `cfg` describes another network than `model` (loaded from `dir`).
void warn_on_config_mismatch(const Config& cfg, const NetConfig& model, const std::string& dir);

// All the checks of a loaded model against the configuration: the network (warnings), the class
// list (Error(Config) when the class count differs, else a warning) and the vocabulary (warning).
void check_model_against_config(const Config& cfg, const LoadedModel& model);

}  // namespace mvtag::cli
