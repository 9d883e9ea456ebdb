#include "mvtag/core/base/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "mvtag/core/base/error.h"

namespace mvtag {

void setup_logging(const std::string& level) {
  const auto lvl = spdlog::level::from_str(level);
  // from_str maps anything unknown to "off"; only accept "off" when it was asked for.
  if (lvl == spdlog::level::off && level != "off") {
    throw_error(ErrorKind::Usage, "unknown log level '" + level +
                                      "' (expected trace, debug, info, warn, error or off)");
  }
  auto logger = spdlog::stderr_color_mt("mvtag");
  logger->set_pattern("[%H:%M:%S %^%l%$] %v");
  logger->set_level(lvl);
  spdlog::set_default_logger(logger);
}

}  // namespace mvtag
