#include <csignal>
#include <iostream>
#include <memory>

#include <spdlog/spdlog.h>

#include "commands.h"
#include "config_options.h"
#include "device.h"
#include "mvtag/runtime/runtime.h"
#include "mvtag/train/trainer.h"

namespace mvtag::cli {

namespace {
extern "C" void on_stop_signal(int sig) {
  request_training_stop();
  std::signal(sig, SIG_DFL);  // a second signal ends the process at once
}
}  // namespace

Command add_train_command(CLI::App& root) {
  auto* sub = root.add_subcommand(
      "train",
      "Train the tagger on the TRAIN list, validating on the VALID list every --valid_interval epochs.\n"
      "Writes <save_dir>/best (best validation Hit@1), <save_dir>/last (resumable), metrics.jsonl and\n"
      "training_curve.svg. Ctrl-C saves last/ after the current step; --resume <save_dir>/last continues.");
  auto options = std::make_shared<ConfigOptions>(*sub, ConfigFlags{{"TRAIN", "VALID"}, true});
  auto device = std::make_shared<std::string>();
  auto max_steps = std::make_shared<std::int64_t>(0);
  add_device_option(*sub, *device);
  sub->add_option("--max-steps", *max_steps, "Stop after N optimizer steps, saving last/ (0 = no limit)")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber)
      ->group("Run");
  return {sub, [options, device, max_steps]() -> int {
            const Config cfg = options->load();
            if (options->dump_requested()) return print_config(cfg);
            TrainOptions t;
            t.config = cfg;
            const RunOptions& run = options->run_options();
            t.save_dir = run.save_dir;
            t.pretrain = run.pretrain;
            t.resume = run.resume;
            t.valid_interval = run.valid_interval;
            t.log_interval = run.log_interval;
            t.max_steps = *max_steps;
            const torch::Device dev = resolve_device(cfg, *device);
            if (dev.is_cpu()) warn_if_cores_busy();
            std::signal(SIGINT, on_stop_signal);
            std::signal(SIGTERM, on_stop_signal);
            const TrainResult r = train(t, dev);
            std::signal(SIGINT, SIG_DFL);
            std::signal(SIGTERM, SIG_DFL);

            std::cout << "epochs completed  " << r.epochs_completed << "\n"
                      << "optimizer steps   " << r.steps << "\n";
            if (r.best_epoch > 0) {
              std::cout << "best valid Hit@1  " << fmt::format("{:.2f}", r.best_hit1) << " (epoch " << r.best_epoch
                        << ")\nbest model        " << r.best_dir << "\n";
            }
            std::cout << "last checkpoint   " << r.last_dir << "\n";
            if (r.skipped_samples > 0) std::cout << "skipped samples   " << r.skipped_samples << "\n";
            if (r.early_stopped) std::cout << "stopped early     (TRAIN.early_stop)\n";
            if (r.interrupted) std::cout << "interrupted       resume with --resume " << r.last_dir << "\n";
            return 0;
          }};
}

}  // namespace mvtag::cli
