// Logging: spdlog to stderr. Results go to stdout or files, never through the logger.
#pragma once

#include <string>

namespace mvtag {

// level: trace, debug, info, warn, error, off. Throws Error(Usage) on anything else.
void setup_logging(const std::string& level);

}  // namespace mvtag
