// Running the real mvtag binary from a test: exit code, stdout and stderr kept apart.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
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

// Runs a shell command with `dir` as the working directory: exit code, stdout, stderr.
inline CliResult run_shell(const std::string& command_line, const std::string& dir = MVTAG_SOURCE_DIR) {
  static std::atomic<int> counter{0};
  const std::string err_file = (std::filesystem::temp_directory_path() /
                                ("mvtag_stderr_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
                                   .string();
  const std::string command = "cd '" + dir + "' && { " + command_line + " ; } 2>'" + err_file + "'";
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

// Runs `mvtag <args>` (shell syntax) with `dir` as the working directory. `before` is shell text
// put in front of the binary (a command that runs it, such as setpriv, or "ulimit ...;").
inline CliResult run_mvtag(const std::string& args, const std::string& dir = MVTAG_SOURCE_DIR,
                           const std::string& before = "") {
  return run_shell(before + " '" MVTAG_BINARY "' " + args, dir);
}

// `mvtag <args>` started in the background (for tests that signal it); finish() waits for it.
class BackgroundMvtag {
 public:
  // `env`: "NAME=value ..." set for it ("" = none).
  BackgroundMvtag(const std::string& args, const std::string& dir, const std::string& env = "") {
    static std::atomic<int> counter{0};
    const std::string stem = (std::filesystem::temp_directory_path() /
                              ("mvtag_bg_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
                                 .string();
    out_file_ = stem + ".out";
    err_file_ = stem + ".err";
    const std::string command = "cd '" + dir + "' && exec " + (env.empty() ? "" : "env " + env + " ") +
                                "'" MVTAG_BINARY "' " + args + " >'" + out_file_ +
                                "' 2>'" + err_file_ + "'";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~BackgroundMvtag() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    std::filesystem::remove(out_file_, ec);
    std::filesystem::remove(err_file_, ec);
  }
  BackgroundMvtag(const BackgroundMvtag&) = delete;
  BackgroundMvtag& operator=(const BackgroundMvtag&) = delete;

  bool started() const { return pid_ > 0; }
  void signal(int sig) const { ::kill(pid_, sig); }
  // What it wrote to stdout so far.
  std::string out_so_far() const { return std::filesystem::exists(out_file_) ? read_file(out_file_) : ""; }
  // What it wrote to stderr so far.
  std::string err_so_far() const { return std::filesystem::exists(err_file_) ? read_file(err_file_) : ""; }
  // Waits for the process; exit_code is -1 when a signal ended it (not an exit() of its own).
  CliResult finish() {
    CliResult r;
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (std::filesystem::exists(out_file_)) r.out = read_file(out_file_);
    if (std::filesystem::exists(err_file_)) r.err = read_file(err_file_);
    return r;
  }

 private:
  pid_t pid_ = -1;
  std::string out_file_;
  std::string err_file_;
};

// A port on 127.0.0.1 that this test holds open (listening) until it goes out of scope: for
// "port in use" errors.
class BusyPort {
 public:
  BusyPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(fd_, 1) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~BusyPort() {
    if (fd_ >= 0) ::close(fd_);
  }
  BusyPort(const BusyPort&) = delete;
  BusyPort& operator=(const BusyPort&) = delete;
  int port() const { return port_; }  // 0 when no port could be opened

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace mvtag::test
