// Disk and permission faults on the core writers: a write that fails half-way (the disk fills,
// simulated with RLIMIT_FSIZE, under which write() returns EFBIG once SIGXFSZ is ignored), a
// write-protected directory, and two jobs on one output directory (DirectoryLock).
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "mvtag/core/base/dir_lock.h"
#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/formats/safetensors.h"
#include "test_util.h"

namespace mvtag {
namespace {

namespace fs = std::filesystem;
using test::contains;

struct ChildResult {
  int exit_code = -1;
  std::string message;  // what the child reported through the pipe
};

// Runs `body` in a forked child whose files may not grow beyond `max_file_bytes`; the child
// reports the mvtag::Error it caught (exit 0) or that nothing was thrown (exit 1).
ChildResult run_with_file_size_limit(rlim_t max_file_bytes, const std::function<void()>& body) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    ::signal(SIGXFSZ, SIG_IGN);  // write() then fails with EFBIG instead of killing the process
    const rlimit limit{max_file_bytes, max_file_bytes};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    int code = 1;
    std::string message;
    try {
      body();
    } catch (const Error& e) {
      message = e.what();
      code = 0;
    } catch (...) {
      message = "a foreign exception";
      code = 2;
    }
    (void)!::write(fds[1], message.data(), message.size());
    ::_exit(code);
  }
  ::close(fds[1]);
  ChildResult r;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buffer, sizeof buffer)) > 0) r.message.append(buffer, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) out.push_back(entry.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(DiskFaults, FullDiskDuringWriteFileAtomicKeepsThePreviousFileAndNamesTheFile) {
  const test::TempDir dir("disk_faults");
  const std::string path = dir.file("output.json");
  write_file_atomic(path, "previous complete content\n");
  const ChildResult r = run_with_file_size_limit(4096, [&] { write_file_atomic(path, std::string(100000, 'x')); });
  ASSERT_EQ(r.exit_code, 0) << r.message;
  EXPECT_TRUE(contains(r.message, path)) << r.message;
  EXPECT_TRUE(contains(r.message, "write failed: File too large")) << r.message;
  EXPECT_EQ(read_file(path), "previous complete content\n");
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"output.json"});  // no temporary file left
}

TEST(DiskFaults, FullDiskDuringAStreamedWriteKeepsThePreviousFile) {
  const test::TempDir dir("disk_faults");
  const std::string path = dir.file("model.safetensors");
  const NDArray small = NDArray::from_float({2}, {1, 2});
  write_safetensors(path, {{"w", small}});
  const std::string before = read_file(path);
  const NDArray big = NDArray::from_float({50000}, std::vector<float>(50000, 0.5f));
  const ChildResult r = run_with_file_size_limit(8192, [&] { write_safetensors(path, {{"w", big}}); });
  ASSERT_EQ(r.exit_code, 0) << r.message;
  EXPECT_TRUE(contains(r.message, path)) << r.message;
  EXPECT_TRUE(contains(r.message, "File too large")) << r.message;
  EXPECT_EQ(read_file(path), before);
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"model.safetensors"});
}

TEST(DiskFaults, WriteThatFitsUnderTheLimitSucceeds) {
  // The same child set-up with a write that fits: the limit, not the harness, makes the others fail.
  const test::TempDir dir("disk_faults");
  const std::string path = dir.file("small.txt");
  const ChildResult r = run_with_file_size_limit(4096, [&] { write_file_atomic(path, std::string(1000, 'y')); });
  EXPECT_EQ(r.exit_code, 1) << r.message;
  EXPECT_EQ(read_file(path), std::string(1000, 'y'));
}

// Root ignores permission bits: such a test cannot show anything there.
bool permissions_bind_this_process(const std::string& protected_dir) {
  const std::string probe = protected_dir + "/probe";
  std::FILE* f = std::fopen(probe.c_str(), "w");
  if (f == nullptr) return true;
  std::fclose(f);
  fs::remove(probe);
  return false;
}

TEST(DiskFaults, WriteProtectedDirectoryIsRefusedByDirectoryLock) {
  const test::TempDir dir("disk_faults");
  const std::string out = dir.file("runs");
  fs::create_directories(out);
  ::chmod(out.c_str(), 0555);
  if (!permissions_bind_this_process(out)) {
    ::chmod(out.c_str(), 0755);
    GTEST_SKIP() << "running as root (or with CAP_DAC_OVERRIDE): a write-protected directory is writable here; "
                    "tests/e2e/faults_test.cpp covers this case by running mvtag as an unprivileged user";
  }
  const Error e = test::thrown_error([&] { DirectoryLock lock(out, "train"); }, ErrorKind::Io);
  ::chmod(out.c_str(), 0755);
  EXPECT_EQ(e.where().file, out);
  EXPECT_TRUE(contains(e.what(), "not writable: Permission denied")) << e.what();
}

TEST(DiskFaults, SecondLockOnTheSameDirectoryNamesTheLockFileAndTheHolder) {
  const test::TempDir dir("disk_faults");
  const std::string out = dir.file("runs/a");
  {
    const DirectoryLock first(out, "train");
    EXPECT_EQ(first.path(), out + "/train.lock");
    const Error e = test::thrown_error([&] { DirectoryLock second(out, "train"); }, ErrorKind::Io);
    EXPECT_EQ(e.where().file, out + "/train.lock");
    EXPECT_TRUE(contains(e.what(), "another process (pid " + std::to_string(::getpid()) + ")")) << e.what();
  }
  const DirectoryLock again(out, "train");  // released with the first
}

TEST(DiskFaults, KilledHolderLeavesNoStaleLock) {
  const test::TempDir dir("disk_faults");
  const std::string out = dir.file("runs");
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    try {
      const DirectoryLock lock(out, "train");
      (void)!::write(ready[1], "1", 1);
      ::pause();
    } catch (...) {
    }
    ::_exit(1);
  }
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  const Error e = test::thrown_error([&] { DirectoryLock lock(out, "train"); }, ErrorKind::Io);
  EXPECT_TRUE(contains(e.what(), "pid " + std::to_string(child))) << e.what();
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE(fs::exists(out + "/train.lock"));  // the file stays, the lock does not
  const DirectoryLock taken(out, "train");
  EXPECT_EQ(read_file(out + "/train.lock"), std::to_string(::getpid()) + "\n");
  ::close(ready[0]);
  ::close(ready[1]);
}

}  // namespace
}  // namespace mvtag
