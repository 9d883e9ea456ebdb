#include "commands.h"
#include "mvtag/error.h"

namespace mvtag::cli {

Command add_train_command(CLI::App& root) {
  auto* sub = root.add_subcommand("train", "(train: not implemented yet)");
  return {sub, []() -> int { throw_error(ErrorKind::Runtime, "'train' is not implemented yet"); }};
}

}  // namespace mvtag::cli
