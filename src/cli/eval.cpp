#include "commands.h"
#include "mvtag/error.h"

namespace mvtag::cli {

Command add_eval_command(CLI::App& root) {
  auto* sub = root.add_subcommand("eval", "(eval: not implemented yet)");
  return {sub, []() -> int { throw_error(ErrorKind::Runtime, "'eval' is not implemented yet"); }};
}

}  // namespace mvtag::cli
