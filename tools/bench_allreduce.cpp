// All-reduce cost of data-parallel training: how long c10d (Gloo on the CPU) takes to sum a
// gradient-sized float32 buffer over N local ranks, for the sizes that matter here (the demo's
// trained parameters, the original network's with ERNIE frozen, and with ERNIE trained). The
// numbers feed the N-machine prediction in docs/PERFORMANCE.md.
//
//   mvtag_bench_allreduce [--nproc 2] [--repeats 20] [--threads 1]
//
// Started without WORLD_SIZE it launches itself --nproc times (core/dist/local_launch.h); rank 0
// prints one JSON line per size: median and min milliseconds, and the algorithm bandwidth
// (bytes / time) and bus bandwidth (2 (N-1)/N bytes / time, what a ring moves per link).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "mvtag/core/dist/launch_env.h"
#include "mvtag/core/dist/local_launch.h"
#include "mvtag/dist/process_group.h"

int main(int argc, char** argv) {
  CLI::App app("All-reduce time of gradient-sized buffers over N local ranks (Gloo)");
  int nproc = 2, repeats = 20, threads = 1, timeout = 120;
  app.add_option("--nproc", nproc, "Local ranks (when not launched by torchrun)")->check(CLI::Range(2, 64));
  app.add_option("--repeats", repeats, "All-reduces per size (the first is not counted)")->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "LibTorch threads per rank");
  app.add_option("--timeout", timeout, "Seconds before a rank gives up");
  CLI11_PARSE(app, argc, argv);
  try {
    const mvtag::LaunchEnv env = mvtag::read_launch_env();
    if (!env.distributed()) {
      mvtag::LocalLaunch launch;
      for (int i = 1; i < argc; ++i) launch.args.emplace_back(argv[i]);
      launch.nproc = nproc;
      return mvtag::launch_local_workers(launch);
    }
    torch::set_num_threads(threads);
    mvtag::DistOptions o;
    o.timeout = std::chrono::seconds(timeout);
    auto group = mvtag::ProcessGroup::join(env, o, torch::kCPU);
    // Trained floats: the demo (conf/demo.txt), the original with ERNIE frozen (docs/COMPAT.md:
    // 14,854,768 outside ERNIE), and the whole network (114,130,288).
    const std::vector<std::pair<std::string, std::int64_t>> sizes = {
        {"demo", 2749390}, {"original, ERNIE frozen", 14854768}, {"original, ERNIE trained", 114130288}};
    for (const auto& [label, numel] : sizes) {
      torch::Tensor buffer = torch::ones({numel});
      std::vector<double> ms;
      for (int i = 0; i <= repeats; ++i) {
        group->barrier("benchmark");
        const auto start = std::chrono::steady_clock::now();
        group->all_reduce_sum(buffer, "benchmark");
        const double t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        if (i > 0) ms.push_back(t);
      }
      std::sort(ms.begin(), ms.end());
      const double median = ms[ms.size() / 2], bytes = static_cast<double>(numel) * 4;
      const int n = group->size();
      if (group->rank() == 0) {
        nlohmann::json line = {{"gradient", label},
                               {"floats", numel},
                               {"ranks", n},
                               {"median_ms", median},
                               {"min_ms", ms.front()},
                               {"algorithm_GBps", bytes / (median / 1e3) / 1e9},
                               {"bus_GBps", 2.0 * (n - 1) / n * bytes / (median / 1e3) / 1e9}};
        std::printf("%s\n", line.dump().c_str());
        std::fflush(stdout);
      }
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mvtag_bench_allreduce: %s\n", e.what());
    return 1;
  }
}
