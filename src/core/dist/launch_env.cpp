#include "mvtag/core/dist/launch_env.h"

#include <cstdlib>
#include <limits>

#include "mvtag/core/base/error.h"

namespace mvtag {

namespace {

Location at_variable(const char* name) {
  Location where;
  where.key = std::string("environment variable ") + name;
  return where;
}

std::optional<std::string> variable(const std::function<const char*(const char*)>& get, const char* name) {
  const char* value = get(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

// A whole decimal number in [low, high].
int integer(const std::string& text, const char* name, long low, long high) {
  std::size_t used = 0;
  long value = 0;
  try {
    value = std::stol(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size()) {
    throw_error(ErrorKind::Config, "'" + text + "' is not a whole number", at_variable(name));
  }
  if (value < low || value > high) {
    throw_error(ErrorKind::Config,
                text + " is outside [" + std::to_string(low) + ", " + std::to_string(high) + "]",
                at_variable(name));
  }
  return static_cast<int>(value);
}

std::string required(const std::function<const char*(const char*)>& get, const char* name, int world_size) {
  const auto value = variable(get, name);
  if (!value || value->empty()) {
    throw_error(ErrorKind::Config,
                "not set, but WORLD_SIZE is " + std::to_string(world_size) +
                    " (a data-parallel run needs WORLD_SIZE, RANK, MASTER_ADDR and MASTER_PORT, as torchrun sets "
                    "them; or use mvtag train --nproc N)",
                at_variable(name));
  }
  return *value;
}

}  // namespace

std::string LaunchEnv::describe() const {
  if (!distributed()) return "a single process";
  return "rank " + std::to_string(rank) + "/" + std::to_string(world_size) + " (local " + std::to_string(local_rank) +
         ") at " + master_addr + ":" + std::to_string(master_port);
}

LaunchEnv read_launch_env(const std::function<const char*(const char*)>& get) {
  LaunchEnv env;
  const auto world = variable(get, "WORLD_SIZE");
  if (!world || world->empty()) {
    if (const auto rank = variable(get, "RANK"); rank && !rank->empty() && *rank != "0") {
      throw_error(ErrorKind::Config, "RANK is " + *rank + " but WORLD_SIZE is not set", at_variable("WORLD_SIZE"));
    }
    return env;
  }
  env.world_size = integer(*world, "WORLD_SIZE", 1, 1 << 16);
  if (env.world_size == 1) return env;
  env.rank = integer(required(get, "RANK", env.world_size), "RANK", 0, env.world_size - 1);
  const auto local = variable(get, "LOCAL_RANK");
  env.local_rank = local && !local->empty() ? integer(*local, "LOCAL_RANK", 0, env.world_size - 1) : 0;
  env.master_addr = required(get, "MASTER_ADDR", env.world_size);
  env.master_port = integer(required(get, "MASTER_PORT", env.world_size), "MASTER_PORT", 1, 65535);
  if (const auto restarts = variable(get, "TORCHELASTIC_RESTART_COUNT"); restarts && !restarts->empty()) {
    env.restart_count = integer(*restarts, "TORCHELASTIC_RESTART_COUNT", 0, 1 << 20);
  }
  if (const auto agent = variable(get, "TORCHELASTIC_USE_AGENT_STORE"); agent && *agent == "True") {
    env.agent_store = true;
    env.store_prefix = "/worker/attempt_" + std::to_string(env.restart_count);
  }
  return env;
}

LaunchEnv read_launch_env() {
  return read_launch_env([](const char* name) -> const char* { return std::getenv(name); });
}

}  // namespace mvtag
