// mvtag train: parse, run train() with Ctrl-C/SIGTERM feeding its stop token, print the summary.
#include <iostream>
#include <memory>

#include <spdlog/spdlog.h>

#include "commands.h"
#include "config_options.h"
#include "device.h"
#include "mvtag/core/base/stop_signals.h"
#include "mvtag/runtime/runtime.h"
#include "mvtag/train/trainer.h"

namespace mvtag::cli {

namespace {

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
            StopToken stop;
            t.stop = &stop;
            const TrainResult r = [&] {
              const StopSignals signals(
                  stop, "\nmvtag: stopping after the current step and saving last/ (signal again to quit without saving)\n",
                  "\nmvtag: still saving last/; stopping as soon as it is complete\n");
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
