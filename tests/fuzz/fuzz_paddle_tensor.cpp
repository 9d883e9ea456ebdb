// The Paddle LoDTensor reader on any bytes: records one after another until the end or an error.
#include <string>

#include "fuzz_util.h"
#include "mvtag/core/formats/paddle_tensor.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  mvtag::fuzz::quiet_logs();
  mvtag::fuzz::expect_parse_or_error([&] {
    auto reader = mvtag::PaddleTensorReader::from_bytes(std::string(mvtag::fuzz::as_view(data, size)), "fuzz.param");
    while (!reader.at_end()) (void)reader.next();
  });
  return 0;
}
