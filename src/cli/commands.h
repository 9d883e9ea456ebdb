// The verbs of the mvtag binary. Each lives in its own file, adds its subcommand to the root
// app and returns the function that runs it once the command line has been parsed.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace mvtag::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

// The command line this process was started with (set once by main), for messages that tell
// the user what to run next.
void remember_invocation(int argc, const char* const* argv);
const std::vector<std::string>& invocation();
// Words joined into one shell command line, each quoted when it needs to be.
std::string shell_join(const std::vector<std::string>& words);

Command add_train_command(CLI::App& root);
Command add_eval_command(CLI::App& root);
Command add_export_command(CLI::App& root);
Command add_infer_command(CLI::App& root);
Command add_tokenize_command(CLI::App& root);
Command add_inspect_command(CLI::App& root);
Command add_demo_data_command(CLI::App& root);
Command add_import_paddle_command(CLI::App& root);
Command add_convert_ernie_command(CLI::App& root);
Command add_serve_command(CLI::App& root);
Command add_pack_command(CLI::App& root);

}  // namespace mvtag::cli
