// Where this process stands in a data-parallel run, from the environment variables that torchrun,
// Kubernetes' PyTorchJob and `mvtag train --nproc` set: WORLD_SIZE, RANK, LOCAL_RANK,
// MASTER_ADDR and MASTER_PORT. Free of LibTorch: dist/process_group.h turns it into a
// ProcessGroup.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace mvtag {

struct LaunchEnv {
  int world_size = 1;  // 1 = a single process: nothing else is read
  int rank = 0;
  int local_rank = 0;  // with CUDA: the device of this process
  std::string master_addr;
  int master_port = 0;
  // torchrun's static rendezvous already serves a TCPStore at MASTER_ADDR:MASTER_PORT
  // (TORCHELASTIC_USE_AGENT_STORE=True): every rank connects to it as a client, under the key
  // prefix "/worker/attempt_<TORCHELASTIC_RESTART_COUNT>", as torch.distributed does.
  bool agent_store = false;
  std::string store_prefix;
  // TORCHELASTIC_RESTART_COUNT: how often torchrun restarted the workers (--max_restarts) after
  // a failure; train continues from <save_dir>/last when it is above 0.
  int restart_count = 0;

  bool distributed() const { return world_size > 1; }
  bool is_main() const { return rank == 0; }
  // "rank 1/2 (local 1) at 127.0.0.1:29500"
  std::string describe() const;
};

// Reads the variables through `get` (nullptr result = unset). WORLD_SIZE unset or 1 is a single
// process. Otherwise RANK, MASTER_ADDR and MASTER_PORT are required; LOCAL_RANK defaults to 0
// (one process per machine or pod, as Kubernetes' PyTorchJob starts them).
// Error(Config) naming the variable for a missing, non-numeric or out-of-range value.
LaunchEnv read_launch_env(const std::function<const char*(const char*)>& get);
// The same from the process environment.
LaunchEnv read_launch_env();

// Settings of the process group that do not come from the environment.
struct DistOptions {
  // How long any rank waits for the others (rendezvous, each collective) before it gives up with
  // an error: a rank that died or hangs never makes the others wait forever.
  std::chrono::seconds timeout{1800};
};

}  // namespace mvtag
