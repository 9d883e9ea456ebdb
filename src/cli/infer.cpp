#include "commands.h"
#include "mvtag/error.h"

namespace mvtag::cli {

Command add_infer_command(CLI::App& root) {
  auto* sub = root.add_subcommand("infer", "(infer: not implemented yet)");
  return {sub, []() -> int { throw_error(ErrorKind::Runtime, "'infer' is not implemented yet"); }};
}

}  // namespace mvtag::cli
