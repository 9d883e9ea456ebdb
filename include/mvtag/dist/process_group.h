// The ranks of a data-parallel run, joined through LibTorch's c10d: a TCPStore for the rendezvous
// and a ProcessGroupGloo (CPU) or ProcessGroupNCCL (CUDA builds, CUDA device) for the
// collectives. This header keeps c10d and Gloo out of its users; process_group.cpp holds the thin
// adapter over c10d's 1.13 (ProcessGroup) and 2.x (Backend) classes.
//
// Every failure — a port in use, an unreachable master, a rank that died or does not answer
// within DistOptions::timeout — is an mvtag Error(Runtime) that names the rank, the operation
// and the address, never a hang.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "mvtag/core/dist/launch_env.h"

namespace mvtag {

// True when this build has c10d with Gloo (false: a LibTorch without the Gloo headers).
bool distributed_available();

class ProcessGroup {
 public:
  // An operation in flight; wait() rethrows its failure as an Error.
  class Pending {
   public:
    Pending() = default;
    void wait();  // once; later calls (and an empty Pending) return at once
    bool valid() const { return static_cast<bool>(wait_); }

   private:
    friend class ProcessGroup;
    std::function<void()> wait_;
  };

  // Joins the run `env` describes (env.distributed() must be true): rendezvous, then the backend
  // for `device` (Gloo on the CPU; NCCL on CUDA where built with it). Error(Runtime) with the
  // address for a port in use, a master that cannot be reached, or ranks missing at the timeout.
  static std::unique_ptr<ProcessGroup> join(const LaunchEnv& env, const DistOptions& options,
                                            const torch::Device& device);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return env_.rank; }
  int size() const { return env_.world_size; }
  const LaunchEnv& env() const { return env_; }
  std::string backend_name() const;

  // Sum over ranks, in place. `what` names the operation in errors ("gradients").
  Pending all_reduce_sum_async(torch::Tensor tensor, const std::string& what);
  void all_reduce_sum(torch::Tensor tensor, const std::string& what);
  // Rank `root`'s values, in place on every rank.
  void broadcast(std::vector<torch::Tensor> tensors, int root, const std::string& what);
  void barrier(const std::string& what);

  // Every rank passes its `text` for `what` (a configuration, flattened one "key = value" per line);
  // Error(Config) on every rank when any rank's differs from rank 0's, naming the first line
  // that differs.
  void check_same(const std::string& what, const std::string& text);

 private:
  struct Impl;
  ProcessGroup(LaunchEnv env, DistOptions options);
  [[noreturn]] void fail(const std::string& what, const std::exception& e) const;

  LaunchEnv env_;
  DistOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mvtag
