#include <memory>

#include "commands.h"
#include "config_options.h"
#include "mvtag/error.h"

namespace mvtag::cli {

Command add_eval_command(CLI::App& root) {
  auto* sub = root.add_subcommand("eval", "Evaluate a trained model on the VALID list (loss and Hit@k)");
  auto options = std::make_shared<ConfigOptions>(*sub, ConfigFlags{{"VALID"}, false});
  return {sub, [options]() -> int {
            const Config cfg = options->load();
            if (options->dump_requested()) return print_config(cfg);
            throw_error(ErrorKind::Runtime, "'eval' is not implemented yet");
          }};
}

}  // namespace mvtag::cli
