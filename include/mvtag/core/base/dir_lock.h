// The output directory of a job that writes there for a long time (training's --save_dir):
// checked to be writable, and held with a lock, before the job starts its work.
//
// The lock is flock(2) on "<dir>/<name>.lock", which holds the holder's pid. The kernel releases
// a flock when its process ends, however it ends (kill -9 too), so a lock file left behind is
// never stale: the next job takes it. A second job on the same directory is refused with the
// lock file and the holder's pid, instead of both writing checkpoints over each other.
#pragma once

#include <string>

namespace mvtag {

class DirectoryLock {
 public:
  // Creates `dir` if needed, checks that files can be created in it (a write-protected or
  // read-only directory is refused now, not when the first checkpoint is due), then takes the
  // lock. Error(Io) naming the directory or the lock file (and the other job's pid) on failure.
  DirectoryLock(const std::string& dir, const std::string& name);
  ~DirectoryLock();
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

  const std::string& path() const { return path_; }  // the lock file

 private:
  std::string path_;
  int fd_ = -1;
};

// Throws Error(Io) naming `dir` unless a file can be created in it (tries one and removes it).
void check_directory_writable(const std::string& dir);

}  // namespace mvtag
