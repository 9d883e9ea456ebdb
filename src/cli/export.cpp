#include <memory>

#include "commands.h"
#include "config_options.h"
#include "mvtag/error.h"

namespace mvtag::cli {

Command add_export_command(CLI::App& root) {
  auto* sub = root.add_subcommand("export", "Export a trained model as an inference model directory");
  auto options = std::make_shared<ConfigOptions>(*sub, ConfigFlags{{}, false});
  return {sub, [options]() -> int {
            const Config cfg = options->load();
            if (options->dump_requested()) return print_config(cfg);
            throw_error(ErrorKind::Runtime, "'export' is not implemented yet");
          }};
}

}  // namespace mvtag::cli
