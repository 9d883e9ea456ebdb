#include "mvtag/core/base/io.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "mvtag/core/base/error.h"

namespace fs = std::filesystem;

namespace mvtag {

namespace {
std::string errno_text() { return std::strerror(errno); }
std::string temp_sibling(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
}
}  // namespace

void check_can_write(const std::string& path, const std::string& what) {
  if (path.empty() || path == "-") return;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!ec && fs::exists(status) && !fs::is_regular_file(status) && !fs::is_directory(status)) return;
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  while (!fs::exists(dir, ec) && dir.has_parent_path() && dir.parent_path() != dir) dir = dir.parent_path();
  std::string probe = (dir / ".mvtag_write_check.XXXXXX").string();
  const int fd = ::mkstemp(probe.data());
  if (fd < 0) {
    throw_error(ErrorKind::Io, what + " cannot be written: " + errno_text() + " (in " + dir.string() + ")",
                at_file(path));
  }
  ::close(fd);
  ::unlink(probe.c_str());
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw_error(ErrorKind::Io, "is a directory, expected a file", at_file(path));
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw_error(ErrorKind::Io, "cannot open for reading: " + errno_text(), at_file(path));
  // One read into a pre-sized buffer: several times faster than streaming rdbuf() for the
  // megabyte-sized feature files the loader reads every epoch.
  const std::streamoff size = in.tellg();
  std::string out;
  if (size > 0) {
    out.resize(static_cast<std::size_t>(size));
    in.seekg(0);
    in.read(out.data(), size);
    if (in.gcount() != size) throw_error(ErrorKind::Io, "read failed: " + errno_text(), at_file(path));
  } else {  // size unknown (a pipe, /proc): read to the end
    std::ifstream again(path, std::ios::binary);
    std::ostringstream ss;
    ss << again.rdbuf();
    out = ss.str();
  }
  return out;
}

std::string read_file(const std::string& path, std::uint64_t max_bytes, const std::string& limit_name) {
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(path, ec);
  if (!ec && size > max_bytes) {
    throw_error(ErrorKind::Data,
                "is " + std::to_string(size) + " bytes, above the limit of " + std::to_string(max_bytes) + " (" +
                    limit_name + ")",
                at_file(path));
  }
  std::string out = read_file(path);
  if (out.size() > max_bytes) {  // grew meanwhile, or a pipe
    throw_error(ErrorKind::Data,
                "is more than " + std::to_string(max_bytes) + " bytes, the limit (" + limit_name + ")", at_file(path));
  }
  return out;
}

bool path_exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

bool is_directory(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

void write_file_atomic(const std::string& path, const std::string& content) {
  if (path == "-") {
    std::cout.write(content.data(), static_cast<std::streamsize>(content.size()));
    std::cout.flush();
    if (!std::cout) throw_error(ErrorKind::Io, "write to standard output failed");
    return;
  }
  AtomicFile file(path);
  file.write(content.data(), content.size());
  file.commit();
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)), tmp_(temp_sibling(path_)) {
  std::error_code status_ec;
  const fs::file_status status = fs::status(path_, status_ec);
  if (!status_ec && fs::exists(status) && !fs::is_regular_file(status) && !fs::is_directory(status)) {
    direct_ = true;
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd_ < 0) throw_error(ErrorKind::Io, "cannot open for writing: " + errno_text(), at_file(path_));
    return;
  }
  const fs::path target(path_);
  if (target.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) {
      throw_error(ErrorKind::Io, "cannot create directory: " + ec.message(),
                  at_file(target.parent_path().string()));
    }
  }
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw_error(ErrorKind::Io, "cannot open the temporary file " + tmp_ + " for writing: " + errno_text(),
                at_file(path_));
  }
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    if (fd_ >= 0) ::close(fd_);
    if (!direct_) ::unlink(tmp_.c_str());
  }
}

void AtomicFile::fail(const std::string& what, int error_number) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!direct_) ::unlink(tmp_.c_str());
  committed_ = true;  // nothing left to clean up
  throw_error(ErrorKind::Io, what + ": " + std::strerror(error_number) + " (the previous file, if any, is unchanged)",
              at_file(path_));
}

void AtomicFile::write(const void* data, std::size_t size) {
  if (fd_ < 0) throw_error(ErrorKind::Runtime, "write after commit or failure", at_file(path_));
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write failed", errno);
    }
    if (n == 0) fail("write failed", EIO);
    // A short write (a full disk first takes the bytes that fit): the next call gets the error.
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

void AtomicFile::commit() {
  if (fd_ < 0) throw_error(ErrorKind::Runtime, "commit after commit or failure", at_file(path_));
  if (direct_) {  // a device or pipe: nothing to sync or rename
    const int fd = fd_;
    fd_ = -1;
    committed_ = true;
    if (::close(fd) != 0) fail("cannot close", errno);
    return;
  }
  if (::fsync(fd_) != 0) fail("cannot flush to the disk (fsync)", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("cannot close", errno);
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) fail("cannot rename the temporary file " + tmp_ + " into place", errno);
  committed_ = true;
  // Make the rename itself durable; a directory that cannot be synced (some filesystems) is no error.
  const fs::path parent = fs::path(path_).has_parent_path() ? fs::path(path_).parent_path() : fs::path(".");
  const int dir = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

AtomicDirectory::AtomicDirectory(std::string final_path) : final_(std::move(final_path)) {
  while (!final_.empty() && final_.back() == '/') final_.pop_back();
  staging_ = temp_sibling(final_);
  std::error_code ec;
  fs::remove_all(staging_, ec);
  fs::create_directories(staging_, ec);
  if (ec) throw_error(ErrorKind::Io, "cannot create directory: " + ec.message(), at_file(staging_));
}

AtomicDirectory::~AtomicDirectory() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(staging_, ec);
  }
}

void AtomicDirectory::commit() {
  std::error_code ec;
#ifdef RENAME_EXCHANGE
  // Linux: swap the new directory and the previous one in one step, so that the final name
  // always holds a complete directory, whenever the process dies.
  if (fs::exists(final_, ec) &&
      ::renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, final_.c_str(), RENAME_EXCHANGE) == 0) {
    committed_ = true;
    fs::remove_all(staging_, ec);  // the previous directory, now under the staging name
    return;
  }
  // Filesystems without RENAME_EXCHANGE: move the previous one aside first.
#endif
  const std::string old = final_ + ".old." + std::to_string(::getpid());
  const bool had_old = fs::exists(final_, ec);
  if (had_old) {
    fs::remove_all(old, ec);
    fs::rename(final_, old, ec);
    if (ec) throw_error(ErrorKind::Io, "cannot move the previous directory aside: " + ec.message(), at_file(final_));
  }
  fs::rename(staging_, final_, ec);
  if (ec) {
    if (had_old) fs::rename(old, final_, ec);
    throw_error(ErrorKind::Io, "cannot rename the new directory into place: " + ec.message(), at_file(final_));
  }
  committed_ = true;
  if (had_old) fs::remove_all(old, ec);
}

}  // namespace mvtag
