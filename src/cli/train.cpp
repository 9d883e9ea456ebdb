// mvtag train: parse, run train() with Ctrl-C/SIGTERM feeding its stop token, print the summary.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>

#include <spdlog/spdlog.h>
#include <torch/cuda.h>

#include "commands.h"
#include "config_options.h"
#include "device.h"
#include "mvtag/core/base/stop_signals.h"
#include "mvtag/core/dist/launch_env.h"
#include "mvtag/core/dist/local_launch.h"
#include "mvtag/runtime/runtime.h"
#include "mvtag/train/checkpoint.h"
#include "mvtag/train/trainer.h"

namespace mvtag::cli {

namespace {

// The words of this invocation without the given flags (and their values).
std::vector<std::string> invocation_without(std::initializer_list<const char*> flags) {
  std::vector<std::string> words;
  const std::vector<std::string>& argv = invocation();
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    bool dropped = false;
    for (const char* flag : flags) {
      if (a == flag) {
        ++i;  // and its value
        dropped = true;
      } else if (a.rfind(std::string(flag) + "=", 0) == 0) {
        dropped = true;
      }
    }
    if (!dropped) words.push_back(a);
  }
  return words;
}

// This invocation with --resume LAST instead of --resume/--pretrain/--max-steps: what continues the run.
std::string resume_command(const std::string& last_dir) {
  std::vector<std::string> words = invocation_without({"--resume", "--pretrain", "--max-steps"});
  // A worker of `mvtag train --nproc N`: the command to give is the launcher's.
  if (const char* nproc = std::getenv("MVTAG_NPROC"); nproc != nullptr && *nproc != '\0') {
    words.push_back("--nproc");
    words.push_back(nproc);
  }
  words.push_back("--resume");
  words.push_back(last_dir);
  return shell_join(words);
}

// Ranks other than 0 log warnings and errors only, marked with their rank.
void set_rank_logging(const LaunchEnv& env) {
  if (!env.distributed()) return;
  auto logger = spdlog::default_logger();
  logger->set_pattern(fmt::format("[%H:%M:%S rank {} %^%l%$] %v", env.rank));
  if (env.rank > 0 && logger->level() < spdlog::level::warn) logger->set_level(spdlog::level::warn);
}

}  // namespace

Command add_train_command(CLI::App& root) {
  auto* sub = root.add_subcommand(
      "train",
      "Train the tagger on the TRAIN list, validating on the VALID list every --valid_interval epochs.\n"
      "Writes <save_dir>/best (best validation Hit@1), <save_dir>/last (resumable), metrics.jsonl and\n"
      "training_curve.svg. Ctrl-C saves last/ after the current step; --resume <save_dir>/last continues.\n"
      "Data parallel: --nproc N trains with N local processes; under torchrun (or any launcher that sets\n"
      "WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) each process is one rank. TRAIN.batch_size\n"
      "is the global batch, split across the ranks; the result equals one process's (docs/COMPAT.md).");
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
            t.launch = read_launch_env();
            if (run->nproc > 1) {
              if (t.launch.distributed()) {
                throw_error(ErrorKind::Usage, "--nproc starts ranks of its own; this process is already " +
                                                  t.launch.describe() + " (WORLD_SIZE is set, e.g. by torchrun)");
              }
              // Each rank runs this invocation without --nproc.
              const std::vector<std::string> words = invocation_without({"--nproc"});
              LocalLaunch launch;
              if (!words.empty()) {
                launch.argv0 = words.front();
                launch.args.assign(words.begin() + 1, words.end());
              }
              launch.nproc = run->nproc;
              spdlog::info("starting {} local ranks", run->nproc);
              return launch_local_workers(launch);
            }
            set_rank_logging(t.launch);
            // torchrun --max_restarts restarted the workers after a failure: continue the run
            // rather than start it again over its own checkpoints.
            if (t.launch.restart_count > 0 && t.resume.empty()) {
              const std::string last = (std::filesystem::path(t.save_dir) / "last").string();
              if (is_checkpoint(last)) {
                spdlog::warn("restart {} of an elastic run: continuing from {}", t.launch.restart_count, last);
                t.resume = last;
                t.pretrain.clear();
              }
            }
            torch::Device dev = resolve_device(cfg, *device);
            if (dev.is_cuda() && t.launch.distributed()) {
              // LOCAL_RANK picks the GPU.
              const auto gpus = static_cast<int>(torch::cuda::device_count());
              if (t.launch.local_rank >= gpus) {
                throw_error(ErrorKind::Usage, "LOCAL_RANK is " + std::to_string(t.launch.local_rank) + " but this machine has " +
                                                  std::to_string(gpus) + " CUDA device(s): start at most one rank per GPU");
              }
              dev = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(t.launch.local_rank));
            }
            if (dev.is_cpu() && !t.launch.distributed()) warn_if_cores_busy();
            StopToken stop;
            t.stop = &stop;
            const TrainResult r = [&] {
              const StopSignals signals(
                  stop, "\nmvtag: stopping after the current step and saving last/ (signal again to quit without saving)\n",
                  "\nmvtag: still saving last/; stopping as soon as it is complete\n");
              return train(t, dev);
            }();

            if (!t.launch.is_main()) return r.interrupted && r.stop_reason > 0 ? exit_code_for_signal(r.stop_reason) : 0;
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
