// --precision for the verbs that run or export a model (infer, eval, export, serve).
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "mvtag/core/config/precision.h"

namespace mvtag::cli {

// Registers --precision on `verb`, writing into `value` ("" = not given). `for_export` words the
// help for a verb that stores the choice instead of running it.
void add_precision_option(CLI::App& verb, std::string& value, bool for_export = false);

// nullopt when not given; Error(Usage) naming --precision for an unknown value.
std::optional<Precision> parse_precision_flag(const std::string& value);

}  // namespace mvtag::cli
