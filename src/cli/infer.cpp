#include <memory>

#include "commands.h"
#include "config_options.h"
#include "mvtag/error.h"

namespace mvtag::cli {

Command add_infer_command(CLI::App& root) {
  auto* sub = root.add_subcommand("infer", "Tag the videos of the INFER list: every class whose probability reaches INFER.threshold");
  auto options = std::make_shared<ConfigOptions>(*sub, ConfigFlags{{"INFER"}, false});
  return {sub, [options]() -> int {
            const Config cfg = options->load();
            if (options->dump_requested()) return print_config(cfg);
            throw_error(ErrorKind::Runtime, "'infer' is not implemented yet");
          }};
}

}  // namespace mvtag::cli
