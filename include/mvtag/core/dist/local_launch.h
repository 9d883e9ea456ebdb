// `mvtag train --nproc N`: starts N copies of this program on this machine as the ranks of one
// data-parallel run, with the variables torchrun would set (WORLD_SIZE, RANK, LOCAL_RANK,
// MASTER_ADDR=127.0.0.1, MASTER_PORT = a free port), and waits for them.
//
// Ctrl-C / SIGTERM reach the launcher only (each worker runs in its own process group) and are
// forwarded once to every worker, so a run stops at the same step everywhere. When one worker
// fails, the others normally fail at their next collective; any still running `grace` later are
// terminated (a rank that hangs inside a collective is caught by the others' --dist_timeout). Workers die with the launcher (PR_SET_PDEATHSIG).
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace mvtag {

struct LocalLaunch {
  std::string executable;          // "" = this program (/proc/self/exe)
  std::string argv0;               // argv[0] of each worker ("" = executable)
  std::vector<std::string> args;   // argv[1..] of each worker
  int nproc = 2;
  int master_port = 0;             // 0 = a free port on 127.0.0.1
  // After the first failure, how long the others may take to exit (they normally fail at their
  // next collective and say why) before SIGTERM, and SIGKILL 5 s later.
  std::chrono::seconds grace{10};
};

// A TCP port on 127.0.0.1 that nothing listens on right now.
int free_local_port();

// Runs the workers; returns 0 when all exited 0, else the exit status of the first that failed
// (128 + signal when killed by one), after reporting each failure on stderr.
int launch_local_workers(const LocalLaunch& launch);

}  // namespace mvtag
