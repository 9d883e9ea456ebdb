#include "commands.h"
#include "mvtag/error.h"

namespace mvtag::cli {

Command add_export_command(CLI::App& root) {
  auto* sub = root.add_subcommand("export", "(export: not implemented yet)");
  return {sub, []() -> int { throw_error(ErrorKind::Runtime, "'export' is not implemented yet"); }};
}

}  // namespace mvtag::cli
