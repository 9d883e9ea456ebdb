#include "commands.h"
#include "mvtag/error.h"

namespace mvtag::cli {

Command add_inspect_command(CLI::App& root) {
  auto* sub = root.add_subcommand("inspect", "(inspect: not implemented yet)");
  return {sub, []() -> int { throw_error(ErrorKind::Runtime, "'inspect' is not implemented yet"); }};
}

}  // namespace mvtag::cli
