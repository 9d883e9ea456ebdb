// Shared by the libFuzzer targets (one per parser, see CMakeLists.txt here and
// docs/ROBUSTNESS.md). A parser may refuse an input only with mvtag::Error; any other exception
// escapes the target, which libFuzzer reports as a crash, as it does for sanitizer findings and
// allocations above -malloc_limit_mb.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/log.h"

namespace mvtag::fuzz {

// The parsers warn through spdlog; millions of warnings would only slow the fuzzer down.
inline void quiet_logs() {
  static const bool once = [] {
    setup_logging("off");
    return true;
  }();
  (void)once;
}

inline std::string_view as_view(const std::uint8_t* data, std::size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// Runs `parse`, accepting mvtag::Error as the parser's refusal of a bad input.
template <class F>
void expect_parse_or_error(F&& parse) {
  try {
    parse();
  } catch (const mvtag::Error&) {
  }
}

// For the readers that take a path (ZIP, torch.save files, JSON configs): the input written to a
// per-process file, in /dev/shm when there is one so that no disk is touched.
inline const std::string& input_path() {
  static const std::string path = [] {
    const char* dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
    return std::string(dir) + "/mvtag_fuzz_input." + std::to_string(::getpid());
  }();
  return path;
}

inline const std::string& write_input(const std::uint8_t* data, std::size_t size) {
  const std::string& path = input_path();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || std::fwrite(data, 1, size, f) != size || std::fclose(f) != 0) std::abort();
  return path;
}

}  // namespace mvtag::fuzz
