// mvtag: train, evaluate, export and run a multimodal short-video tagger.
// The only place that parses argv, prints errors and chooses exit codes:
// 0 ok, 1 failure at run time, 2 bad usage or bad configuration.
#include <exception>
#include <iostream>

#include <spdlog/spdlog.h>

#include "commands.h"
#include "mvtag/core/base/error.h"
#include "mvtag/core/base/log.h"
#include "mvtag/runtime/runtime.h"

int main(int argc, char** argv) {
  mvtag::cli::remember_invocation(argc, argv);
  CLI::App app{
      "mvtag: train, evaluate, export and run a multimodal multi-label short-video tagger\n"
      "(image + audio features and the title; a LibTorch port of PaddleVideo's MultimodalVideoTag).\n"
      "Exit codes: 0 ok, 1 failure at run time, 2 bad usage or configuration.",
      "mvtag"};
  app.set_version_flag("--version", std::string("mvtag ") + MVTAG_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the verb

  std::string log_level = "info";
  int threads = 0;
  app.add_option("--log-level", log_level, "Logging to stderr: trace, debug, info, warn, error, off")
      ->capture_default_str()
      ->group("Global");
  app.add_option("--threads", threads, "Math threads for LibTorch (0 = all cores)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber)
      ->group("Global");

  const std::vector<mvtag::cli::Command> commands = {
      mvtag::cli::add_train_command(app),    mvtag::cli::add_eval_command(app),
      mvtag::cli::add_export_command(app),   mvtag::cli::add_infer_command(app),
      mvtag::cli::add_tokenize_command(app), mvtag::cli::add_inspect_command(app),
      mvtag::cli::add_demo_data_command(app),
      mvtag::cli::add_import_paddle_command(app),
      mvtag::cli::add_convert_ernie_command(app),
      mvtag::cli::add_serve_command(app),
      mvtag::cli::add_pack_command(app),
  };

  for (const auto& c : commands) {
    c.app->footer("\nGlobal options (before or after the verb): --threads N (LibTorch math threads, 0 = all\n"
                  "cores), --log-level trace|debug|info|warn|error|off. Exit codes: 0 ok, 1 run-time failure,\n"
                  "2 bad usage or configuration.");
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  try {
    mvtag::setup_logging(log_level);
    mvtag::configure_threads(threads);
    for (const auto& c : commands) {
      if (c.app->parsed()) return c.run();
    }
    return 2;
  } catch (const mvtag::Error& e) {
    spdlog::error("{}", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
}
