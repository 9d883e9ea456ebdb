// File helpers with the project's error style: every failure names the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

namespace mvtag {

// Whole file as bytes. Throws Error(Io) naming the file.
std::string read_file(const std::string& path);
// The same for a file that may not be larger than max_bytes (a limit of core/base/limits.h, named
// by limit_name in the error, which is Error(Data) naming the file and both sizes).
std::string read_file(const std::string& path, std::uint64_t max_bytes, const std::string& limit_name);

bool path_exists(const std::string& path);
bool is_directory(const std::string& path);

// Writes to "<path>.tmp.<pid>" next to the target and renames it over the target, so a crash
// never leaves a half-written file under the final name. "-" writes to stdout.
void write_file_atomic(const std::string& path, const std::string& content);

// Streaming form of write_file_atomic for large outputs: write to stream(), then commit().
// Destroying without commit() removes the temporary file.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::ostream& stream() { return out_; }
  void write(const void* data, std::size_t size);
  void commit();

 private:
  std::string path_;
  std::string tmp_;
  std::ofstream out_;
  bool committed_ = false;
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
