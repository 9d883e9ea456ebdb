#include <memory>

#include "commands.h"
#include "config_options.h"
#include "mvtag/error.h"

namespace mvtag::cli {

Command add_train_command(CLI::App& root) {
  auto* sub = root.add_subcommand("train", "Train the tagger on the TRAIN list, validating on the VALID list (conf.txt format)");
  auto options = std::make_shared<ConfigOptions>(*sub, ConfigFlags{{"TRAIN", "VALID"}, true});
  return {sub, [options]() -> int {
            const Config cfg = options->load();
            if (options->dump_requested()) return print_config(cfg);
            throw_error(ErrorKind::Runtime, "'train' is not implemented yet");
          }};
}

}  // namespace mvtag::cli
