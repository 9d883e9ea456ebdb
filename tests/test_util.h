// Helpers shared by the core, torch and end-to-end tests: temporary directories, captured logs,
// expected errors and hand-built byte buffers. Header-only and free of LibTorch, so every test
// binary can use it.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/formats/ndarray.h"

namespace mvtag::test {

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---- Files ---------------------------------------------------------------------------------------

// A fresh directory under /tmp, removed with everything in it when the object goes. The name
// holds the pid and a counter, so parallel test processes and several objects never share one.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "test") {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("mvtag_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string path() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  // Writes `content` to the file `name` in this directory and returns its path.
  std::string write(const std::string& name, const std::string& content) const {
    const std::string p = file(name);
    write_file_atomic(p, content);
    return p;
  }

 private:
  std::filesystem::path path_;
};

// ---- Logs ----------------------------------------------------------------------------------------

// Routes spdlog's default logger into a string for the lifetime of the object, keeping what is
// logged at `level` and above, one "<level> <message>" line each.
class LogCapture {
 public:
  explicit LogCapture(spdlog::level::level_enum level = spdlog::level::info)
      : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_);
    sink->set_pattern("%l %v");
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_level(level);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::string text() const { return stream_.str(); }
  // The messages logged at exactly `level` ("debug", "info", "warning", ...), in order.
  std::vector<std::string> lines(const std::string& level) const {
    std::vector<std::string> result;
    std::istringstream in(stream_.str());
    for (std::string line; std::getline(in, line);) {
      if (line.compare(0, level.size() + 1, level + " ") == 0) result.push_back(line.substr(level.size() + 1));
    }
    return result;
  }

 private:
  std::ostringstream stream_;
  std::shared_ptr<spdlog::logger> previous_;
};

// ---- Errors --------------------------------------------------------------------------------------

// The mvtag::Error that `f` throws. When it throws none the test fails, and the checks that
// follow see an Error(Runtime, "no error thrown").
template <typename F>
Error thrown_error(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error thrown";
  return Error(ErrorKind::Runtime, "no error thrown");
}

// The same, also expecting the error to be of `kind`.
template <typename F>
Error thrown_error(F&& f, ErrorKind kind) {
  Error e = thrown_error(std::forward<F>(f));
  EXPECT_EQ(e.kind(), kind) << e.what();
  return e;
}

// The full message (what()) of the Error that `f` throws.
template <typename F>
std::string error_of(F&& f) {
  return thrown_error(std::forward<F>(f)).what();
}

// Expects the error's full message to contain every one of `parts`.
inline void expect_message_contains(const Error& e, const std::vector<std::string>& parts) {
  for (const std::string& p : parts) EXPECT_TRUE(contains(e.what(), p)) << "'" << p << "' not in: " << e.what();
}

// ---- Bytes ---------------------------------------------------------------------------------------

// The low `bytes` bytes of `v`, least significant first.
inline std::string le_bytes(std::uint64_t v, int bytes) {
  std::string s;
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return s;
}

inline std::string le32(std::uint32_t v) { return le_bytes(v, 4); }
inline std::string le64(std::uint64_t v) { return le_bytes(v, 8); }

// The in-memory bytes of `values` (little-endian: the only byte order mvtag builds for).
template <typename T>
std::string raw_bytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

// An array of `dtype` and `shape` holding the bytes of `values`.
template <typename T>
NDArray make_array(DType dtype, std::vector<std::int64_t> shape, const std::vector<T>& values) {
  NDArray a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.data.resize(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(a.data.data(), values.data(), a.data.size());
  return a;
}

}  // namespace mvtag::test
