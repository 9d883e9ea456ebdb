// The safetensors reader on any bytes (model.safetensors, optimizer.safetensors, ernie.safetensors).
#include <string>

#include "fuzz_util.h"
#include "mvtag/core/formats/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  mvtag::fuzz::quiet_logs();
  const std::string bytes(mvtag::fuzz::as_view(data, size));
  mvtag::fuzz::expect_parse_or_error([&] { (void)mvtag::parse_safetensors(bytes, "fuzz.safetensors"); });
  return 0;
}
