#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <memory>

#include <spdlog/spdlog.h>

#include "commands.h"
#include "config_options.h"
#include "device.h"
#include "mvtag/core/base/stop_token.h"
#include "mvtag/runtime/runtime.h"
#include "mvtag/train/trainer.h"

namespace mvtag::cli {

namespace {

// The token that SIGINT/SIGTERM feed while train() runs.
StopToken g_stop_token;

void say(const char* text) {  // async-signal-safe
  const ssize_t ignored = ::write(STDERR_FILENO, text, std::strlen(text));
  (void)ignored;
}

extern "C" void on_train_signal(int sig) {
  switch (on_stop_signal(g_stop_token, sig)) {
    case StopAction::Stop:
      say("\nmvtag: stopping after the current step and saving last/ (signal again to quit without saving)\n");
      break;
    case StopAction::Wait:
      say("\nmvtag: still saving last/; stopping as soon as it is complete\n");
      break;
    case StopAction::Quit:
      ::_exit(exit_code_for_signal(sig));
  }
}

// Installs the handler for SIGINT and SIGTERM for its lifetime, then restores the defaults.
class StopSignals {
 public:
  StopSignals() { install(on_train_signal); }
  ~StopSignals() { install(SIG_DFL); }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  static void install(void (*handler)(int)) {
    struct sigaction action {};
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);
  }
};

// This invocation with --resume LAST instead of --resume/--pretrain/--max-steps: what continues the run.
std::string resume_command(const std::string& last_dir) {
  std::vector<std::string> words;
  const std::vector<std::string>& argv = invocation();
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    bool dropped = false;
    for (const char* flag : {"--resume", "--pretrain", "--max-steps"}) {
      if (a == flag) {
        ++i;  // and its value
        dropped = true;
      } else if (a.rfind(std::string(flag) + "=", 0) == 0) {
        dropped = true;
      }
    }
    if (!dropped) words.push_back(a);
  }
  words.push_back("--resume");
  words.push_back(last_dir);
  return shell_join(words);
}

}  // namespace

Command add_train_command(CLI::App& root) {
  auto* sub = root.add_subcommand(
      "train",
      "Train the tagger on the TRAIN list, validating on the VALID list every --valid_interval epochs.\n"
      "Writes <save_dir>/best (best validation Hit@1), <save_dir>/last (resumable), metrics.jsonl and\n"
      "training_curve.svg. Ctrl-C saves last/ after the current step; --resume <save_dir>/last continues.");
  auto options = std::make_shared<ConfigOptions>(*sub);
  auto run = std::make_shared<TrainOptions>();  // the run options' defaults
  add_member_flags(*sub, FlagTarget::Run, *run);
  auto device = std::make_shared<std::string>();
  add_device_option(*sub, *device);
  return {sub, [options, run, device]() -> int {
            const Config cfg = options->load();
            if (options->dump_requested()) return print_config(cfg);
            TrainOptions t = *run;
            t.config = cfg;
            const torch::Device dev = resolve_device(cfg, *device);
            if (dev.is_cpu()) warn_if_cores_busy();
            t.stop = &g_stop_token;
            const TrainResult r = [&] {
              const StopSignals signals;
              return train(t, dev);
            }();

            std::cout << "epochs completed  " << r.epochs_completed << "\n"
                      << "optimizer steps   " << r.steps << "\n";
            if (r.best_epoch > 0) {
              std::cout << "best valid Hit@1  " << fmt::format("{:.2f}", r.best_hit1) << " (epoch " << r.best_epoch
                        << ")\nbest model        " << r.best_dir << "\n";
            }
            std::cout << "last checkpoint   " << r.last_dir << "\n";
            if (r.skipped_samples > 0) std::cout << "skipped samples   " << r.skipped_samples << "\n";
            if (r.early_stopped) std::cout << "stopped early     (TRAIN.early_stop)\n";
            if (r.interrupted) {
              const std::string command = resume_command(r.last_dir);
              std::cout << "interrupted       resume with: " << command << "\n";
              if (r.stop_reason > 0) {
                spdlog::warn("stopped by signal {}; last/ is saved; resume with: {}", r.stop_reason, command);
                return exit_code_for_signal(r.stop_reason);
              }
            }
            return 0;
          }};
}

}  // namespace mvtag::cli
