#include "mvtag/runtime.h"

#include <string>
#include <thread>

#include <ATen/Parallel.h>
#include <spdlog/spdlog.h>
#include <torch/cuda.h>

#include "mvtag/blas.h"
#include "mvtag/error.h"

namespace mvtag {

int configure_threads(int requested) {
  // Before any matrix product: OpenBLAS may have picked its slow generic kernels (see blas.h).
  static const std::string blas = ensure_fast_blas();
  spdlog::debug("BLAS: {}", blas);
  int n = requested;
  if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
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
