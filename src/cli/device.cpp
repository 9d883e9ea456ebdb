#include "device.h"

#include "mvtag/runtime.h"

namespace mvtag::cli {

void add_device_option(CLI::App& verb, std::string& device) {
  verb.add_option("--device", device,
                  "cpu, cuda, cuda:N or auto (default: cuda if TRAIN.use_gpu is true, else cpu; "
                  "falls back to the CPU with a warning when CUDA is unavailable)")
      ->type_name("DEVICE")
      ->group("Run");
}

torch::Device resolve_device(const Config& cfg, const std::string& device) {
  if (!device.empty()) return choose_device(device);
  return choose_device(cfg.train.use_gpu ? "cuda" : "cpu");
}

}  // namespace mvtag::cli
