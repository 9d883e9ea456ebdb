#include "commands.h"
#include "mvtag/error.h"

namespace mvtag::cli {

Command add_tokenize_command(CLI::App& root) {
  auto* sub = root.add_subcommand("tokenize", "(tokenize: not implemented yet)");
  return {sub, []() -> int { throw_error(ErrorKind::Runtime, "'tokenize' is not implemented yet"); }};
}

}  // namespace mvtag::cli
