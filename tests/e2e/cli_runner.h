// Running the real mvtag binary from a test: exit code, stdout and stderr kept apart.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <string>

#include "mvtag/core/base/io.h"
#include "test_util.h"

namespace mvtag::test {

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `mvtag <args>` (shell syntax) with `dir` as the working directory.
inline CliResult run_mvtag(const std::string& args, const std::string& dir = MVTAG_SOURCE_DIR) {
  static std::atomic<int> counter{0};
  const std::string err_file = (std::filesystem::temp_directory_path() /
                                ("mvtag_stderr_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
                                   .string();
  const std::string command = "cd '" + dir + "' && '" MVTAG_BINARY "' " + args + " 2>'" + err_file + "'";
  CliResult r;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return r;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) r.out.append(buffer, n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (std::filesystem::exists(err_file)) {
    r.err = read_file(err_file);
    std::filesystem::remove(err_file);
  }
  return r;
}

}  // namespace mvtag::test
