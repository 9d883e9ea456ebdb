// What `mvtag train` runs with: the configuration and the run options. Free of LibTorch, so that
// the flag table's tests and docs can read the run options' defaults (trainer.h runs it).
#pragma once

#include <cstdint>
#include <string>

#include "mvtag/core/base/stop_token.h"
#include "mvtag/core/config/config.h"
#include "mvtag/core/dist/launch_env.h"

namespace mvtag {

struct TrainOptions {
  Config config;
  // The run options. These initialisers are their only defaults: train's flags bind these
  // members (visit_flag_members; the flag table, mvtag/core/config/flags.h, names them) and
  // --help and docs/CONFIG.md show these values.
  std::string save_dir = "checkpoints";
  std::string pretrain;        // model directory whose weights start the run ("" = none)
  std::string resume;          // checkpoint directory to continue exactly ("" = none)
  int valid_interval = 1;      // validate every N epochs; 0 = never
  int log_interval = 10;       // log running averages every N steps; 0 = never
  std::int64_t max_steps = 0;  // stop after this many optimizer steps in this run (0 = no limit)
  int nproc = 0;               // `mvtag train --nproc N`: start N local ranks (0 = this process only)
  int dist_timeout = 1800;     // seconds a rank waits for the others before giving up
  // This process's place in a data-parallel run (read_launch_env(): torchrun's variables);
  // a single process by default.
  LaunchEnv launch;
  // Polled after every step and epoch: once requested, last/ is saved and train() returns
  // (interrupted). Checkpoint writes run inside its critical sections. nullptr = never stops.
  StopToken* stop = nullptr;

  // Calls visit("name", member) for each run option, by the name the flag table uses.
  template <class Self, class Visit>
  static void visit_flag_members(Self& self, Visit&& visit) {
    visit("save_dir", self.save_dir);
    visit("pretrain", self.pretrain);
    visit("resume", self.resume);
    visit("valid_interval", self.valid_interval);
    visit("log_interval", self.log_interval);
    visit("max_steps", self.max_steps);
    visit("nproc", self.nproc);
    visit("dist_timeout", self.dist_timeout);
  }
};

}  // namespace mvtag
