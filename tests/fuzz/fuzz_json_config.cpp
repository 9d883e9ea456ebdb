// The JSON configurations read from model directories and pretrained encoders: ernie_config.json
// / config.json and model.json (NetConfig, which holds the strict form of the ERNIE config).
#include "fuzz_util.h"
#include "mvtag/core/config/ernie_config.h"
#include "mvtag/core/config/net_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mvtag;
  fuzz::quiet_logs();
  const std::string& path = fuzz::write_input(data, size);
  fuzz::expect_parse_or_error([&] {
    const ErnieConfig config = read_ernie_config(path);
    validate_ernie_config(config, path);
  });
  fuzz::expect_parse_or_error([&] {
    const NetConfig config = read_net_config(path);
    validate_net_config(config, path);
  });
  return 0;
}
