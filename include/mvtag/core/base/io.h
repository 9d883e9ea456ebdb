// File helpers with the project's error style: every failure names the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace mvtag {

// Whole file as bytes. Throws Error(Io) naming the file.
std::string read_file(const std::string& path);
// The same for a file that may not be larger than max_bytes (a limit of core/base/limits.h, named
// by limit_name in the error, which is Error(Data) naming the file and both sizes).
std::string read_file(const std::string& path, std::uint64_t max_bytes, const std::string& limit_name);

bool path_exists(const std::string& path);

// Fails early, before a long job, when `path` (a file or a directory an atomic writer will put
// there) could not be written later: a file is created and removed in its directory, or in the
// nearest existing parent when the directory is still to be made. Error(Io) naming `what` (e.g.
// "--output") and the path, with the system's reason. "-" and existing devices, FIFOs and
// sockets pass.
void check_can_write(const std::string& path, const std::string& what);
bool is_directory(const std::string& path);

// Writes to "<path>.tmp.<pid>" next to the target, flushes it to the disk (fsync) and renames it
// over the target, so a crash or a full disk never leaves a half-written file under the final
// name: the target holds either its previous content or the new one. "-" writes to stdout.
// Every failure (open, write, a short write, fsync, close, rename) is Error(Io) naming the target
// and the system's reason (e.g. "No space left on device"); the temporary file is removed.
void write_file_atomic(const std::string& path, const std::string& content);

// Streaming form of write_file_atomic for large outputs: write() pieces, then commit().
// Destroying without commit() removes the temporary file.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, std::size_t size);
  void commit();

 private:
  [[noreturn]] void fail(const std::string& what, int error_number);
  std::string path_;
  std::string tmp_;
  int fd_ = -1;
  bool committed_ = false;
  // The target is a device, FIFO or socket (-o /dev/null, a pipe): written directly, since a
  // rename would replace the special file itself.
  bool direct_ = false;
};

// For directories (checkpoints, exported models): build everything inside staging(), then
// commit() renames it over the final path (an existing directory of that name is replaced).
// Destroying without commit() removes the staging directory.
class AtomicDirectory {
 public:
  explicit AtomicDirectory(std::string final_path);
  ~AtomicDirectory();
  AtomicDirectory(const AtomicDirectory&) = delete;
  AtomicDirectory& operator=(const AtomicDirectory&) = delete;

  const std::string& staging() const { return staging_; }
  const std::string& final_path() const { return final_; }
  void commit();

 private:
  std::string final_;
  std::string staging_;
  bool committed_ = false;
};

}  // namespace mvtag
