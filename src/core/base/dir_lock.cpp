#include "mvtag/core/base/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "mvtag/core/base/error.h"

namespace fs = std::filesystem;

namespace mvtag {

namespace {

std::string pid_in(int fd) {
  char buffer[32] = {};
  const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  std::string pid = n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : "";
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}

}  // namespace

void check_directory_writable(const std::string& dir) {
  const std::string probe = (fs::path(dir) / (".mvtag-write-test." + std::to_string(::getpid()))).string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw_error(ErrorKind::Io, std::string("the output directory is not writable: ") + std::strerror(errno),
                at_file(dir));
  }
  ::close(fd);
  ::unlink(probe.c_str());
}

DirectoryLock::DirectoryLock(const std::string& dir, const std::string& name)
    : path_((fs::path(dir) / (name + ".lock")).string()) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw_error(ErrorKind::Io, "cannot create the output directory: " + ec.message(), at_file(dir));
  check_directory_writable(dir);
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw_error(ErrorKind::Io, std::string("cannot open the lock file: ") + std::strerror(errno), at_file(path_));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    const std::string holder = e == EWOULDBLOCK ? pid_in(fd_) : "";
    ::close(fd_);
    fd_ = -1;
    if (e == EWOULDBLOCK) {
      throw_error(ErrorKind::Io,
                  "another process (pid " + holder + ") is writing into " + dir +
                      "; wait for it to finish, stop it, or choose another directory",
                  at_file(path_));
    }
    throw_error(ErrorKind::Io, std::string("cannot lock: ") + std::strerror(e), at_file(path_));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int e = errno;
    ::close(fd_);
    fd_ = -1;
    throw_error(ErrorKind::Io, std::string("cannot write the lock file: ") + std::strerror(e), at_file(path_));
  }
}

DirectoryLock::~DirectoryLock() {
  // The file stays (removing it would race with a job that just opened it); the lock goes with
  // the descriptor.
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace mvtag
