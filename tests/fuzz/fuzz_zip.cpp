// The ZIP reader on any bytes: the central directory (with ZIP64), then every entry's local
// header, bounds and CRC-32.
#include "fuzz_util.h"
#include "mvtag/core/formats/zip_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  mvtag::fuzz::quiet_logs();
  const std::string& path = mvtag::fuzz::write_input(data, size);
  mvtag::fuzz::expect_parse_or_error([&] {
    mvtag::ZipReader zip(path);
    for (const mvtag::ZipEntry& entry : zip.entries()) {
      mvtag::fuzz::expect_parse_or_error([&] { (void)zip.read(entry); });
    }
  });
  return 0;
}
