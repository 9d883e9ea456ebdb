// eval, export, infer and serve take the network, the class list and the vocabulary from the
// model directory. The configuration should describe the same model: differences are warned
// about (or refused, when they would change what the outputs mean), never silently ignored.
#pragma once

#include <string>

#include "mvtag/core/config/config.h"
#include "mvtag/core/config/net_config.h"
#include "mvtag/model/model_dir.h"

namespace mvtag {

// Logs a warning per key where `cfg` describes another network than `model` (loaded from `dir`).
void warn_on_config_mismatch(const Config& cfg, const NetConfig& model, const std::string& dir);

// All the checks of a loaded model against the configuration: the network (warnings), the class
// list (Error(Config) when the class count differs, else a warning) and the vocabulary (warning).
void check_model_against_config(const Config& cfg, const LoadedModel& model);

}  // namespace mvtag
