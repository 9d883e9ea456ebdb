// The feature pack reader (mvtag pack's output, read by train/eval/infer) on any bytes: trailer,
// JSON index and entry bounds when opening, then every video's values.
#include "fuzz_util.h"
#include "mvtag/core/data/feature_pack.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  mvtag::fuzz::quiet_logs();
  const std::string& path = mvtag::fuzz::write_input(data, size);
  mvtag::fuzz::expect_parse_or_error([&] {
    const auto pack = mvtag::FeaturePack::open(path);
    for (std::size_t i = 0; i < pack->size(); ++i) {
      mvtag::fuzz::expect_parse_or_error([&] { (void)pack->load(i, 0, 0); });
    }
  });
  return 0;
}
