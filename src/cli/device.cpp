#include "device.h"

namespace mvtag::cli {

void add_device_option(CLI::App& verb, std::string& device) {
  verb.add_option("--device", device,
                  "cpu, cuda, cuda:N or auto (default: cuda if TRAIN.use_gpu is true, else cpu; "
                  "falls back to the CPU with a warning when CUDA is unavailable)")
      ->type_name("DEVICE")
      ->group("Run");
}

}  // namespace mvtag::cli
