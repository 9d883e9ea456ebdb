#include "mvtag/runtime/runtime.h"

#include <string>
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

#include <ATen/Parallel.h>
#include <spdlog/spdlog.h>
#include <torch/cuda.h>

#include "mvtag/core/base/error.h"
#include "mvtag/runtime/blas.h"

namespace mvtag {

int configure_threads(int requested) {
  // Before any matrix product: OpenBLAS may have picked its slow generic kernels (see blas.h).
  static const std::string blas = ensure_fast_blas();
  spdlog::debug("BLAS: {}", blas);
  int n = requested;
  if (n <= 0) {
    n = static_cast<int>(std::thread::hardware_concurrency());
    // Several ranks of a data-parallel run on this machine (torchrun and `mvtag train --nproc`
    // set LOCAL_WORLD_SIZE) share its cores instead of each taking all of them.
    if (const char* local = std::getenv("LOCAL_WORLD_SIZE"); local != nullptr && std::atoi(local) > 1) {
      n = std::max(1, n / std::atoi(local));
    }
  }
  if (n <= 0) n = 1;
  at::set_num_threads(n);
  // Inter-op parallelism can only be set once per process, before any parallel work.
  static bool interop_set = false;
  if (!interop_set) {
    interop_set = true;
    at::set_num_interop_threads(1);
  }
  spdlog::debug("LibTorch intra-op threads: {}", at::get_num_threads());
  return at::get_num_threads();
}

namespace {

// (busy, total) jiffies of all CPUs from /proc/stat; (0, 0) when unavailable.
std::pair<double, double> cpu_jiffies() {
  std::ifstream in("/proc/stat");
  std::string line;
  if (!std::getline(in, line) || line.rfind("cpu ", 0) != 0) return {0, 0};
  std::istringstream fields(line.substr(4));
  double v, total = 0, idle = 0;
  for (int i = 0; fields >> v; ++i) {
    if (i < 8) total += v;                // user nice system idle iowait irq softirq steal
    if (i == 3 || i == 4) idle += v;      // idle, iowait
  }
  return {total - idle, total};
}

}  // namespace

void adopt_thread_settings() { at::init_num_threads(); }

double warn_if_cores_busy() {
  const int threads = at::get_num_threads();
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  const auto [busy0, total0] = cpu_jiffies();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto [busy1, total1] = cpu_jiffies();
  if (total1 <= total0 || cores <= 0) return 0;
  const double busy_cores = (busy1 - busy0) / (total1 - total0) * cores;
  const int free_cores = std::max(1, cores - static_cast<int>(std::lround(busy_cores)));
  if (threads > free_cores) {
    spdlog::warn("other processes keep {:.1f} of the {} cores busy; {} LibTorch threads will share cores with them, "
                 "which can make every step several times slower: consider --threads {}",
                 busy_cores, cores, threads, free_cores);
  }
  return busy_cores;
}

torch::Device choose_device(const std::string& requested) {
  if (requested == "cpu") return torch::Device(torch::kCPU);
  const bool cuda = torch::cuda::is_available();
  if (requested == "auto") return cuda ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (requested.rfind("cuda", 0) == 0) {
    torch::Device dev(torch::kCPU);
    try {
      dev = torch::Device(requested);
    } catch (const std::exception&) {
      throw_error(ErrorKind::Usage, "malformed device '" + requested + "' (expected cpu, cuda, cuda:N or auto)");
    }
    if (!cuda) {
      spdlog::warn("CUDA was requested ({}) but this build or machine has no CUDA device; using the CPU",
                   requested);
      return torch::Device(torch::kCPU);
    }
    const int count = static_cast<int>(torch::cuda::device_count());
    if (dev.has_index() && dev.index() >= count) {
      throw_error(ErrorKind::Usage, "device " + requested + " does not exist (" + std::to_string(count) +
                                        " CUDA device(s) visible)");
    }
    return dev;
  }
  throw_error(ErrorKind::Usage, "unknown device '" + requested + "' (expected cpu, cuda, cuda:N or auto)");
}

}  // namespace mvtag
