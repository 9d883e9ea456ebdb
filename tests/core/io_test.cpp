#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace mvtag;
using mvtag::test::TempDir;

namespace {
std::size_t entries(const fs::path& d) {
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(d), fs::directory_iterator{}));
}
}  // namespace

TEST(Io, WriteAtomicCreatesParentsAndLeavesNoTemp) {
  const TempDir d("io_write");
  const auto path = d.file("sub/out.txt");
  write_file_atomic(path, "hello");
  EXPECT_EQ(read_file(path), "hello");
  write_file_atomic(path, "again");
  EXPECT_EQ(read_file(path), "again");
  EXPECT_EQ(entries(d.file("sub")), 1u);
}

TEST(Io, AtomicFileWithoutCommitLeavesNothing) {
  const TempDir d("io_abandon");
  {
    AtomicFile f(d.file("x.bin"));
    f.write("abc", 3);
  }
  EXPECT_EQ(entries(d.path()), 0u);
}

TEST(Io, ReadMissingFileNamesIt) {
  const Error e = mvtag::test::thrown_error([] { read_file("/nonexistent/mvtag/file.txt"); }, ErrorKind::Io);
  EXPECT_EQ(e.where().file, "/nonexistent/mvtag/file.txt");
  EXPECT_THROW(read_file(fs::temp_directory_path().string()), Error);
}

TEST(Io, AtomicDirectoryReplacesOnCommitOnly) {
  const TempDir d("io_dir");
  const auto target = d.file("ckpt");
  {
    AtomicDirectory dir(target);
    write_file_atomic(dir.staging() + "/a.txt", "1");
    dir.commit();
  }
  EXPECT_EQ(read_file(target + "/a.txt"), "1");
  {
    AtomicDirectory dir(target);
    write_file_atomic(dir.staging() + "/b.txt", "2");
    // not committed: the old directory stays as it was
  }
  EXPECT_TRUE(fs::exists(target + "/a.txt"));
  EXPECT_FALSE(fs::exists(target + "/b.txt"));
  {
    AtomicDirectory dir(target + "/");
    write_file_atomic(dir.staging() + "/b.txt", "2");
    dir.commit();
  }
  EXPECT_FALSE(fs::exists(target + "/a.txt"));
  EXPECT_EQ(read_file(target + "/b.txt"), "2");
  EXPECT_EQ(entries(d.path()), 1u);
}

// `-o /dev/null` or a named pipe: the target is written directly. A rename would replace the
// special file itself (as root, /dev/null would become a regular file).
TEST(Io, WriteToAFifoWritesIntoItAndLeavesItAFifo) {
  mvtag::test::TempDir dir("io_fifo");
  const std::string fifo = dir.file("pipe");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);  // a reader, so the writer's open succeeds
  ASSERT_GE(reader, 0);
  write_file_atomic(fifo, "hello");
  char buf[16] = {};
  const ssize_t n = ::read(reader, buf, sizeof buf);
  ::close(reader);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0), "hello");
  EXPECT_TRUE(std::filesystem::is_fifo(fifo));
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().filename(), "pipe") << "left behind: " << e.path();
  }
}

TEST(Io, CheckCanWriteRefusesAPathThatCouldNeverBeWrittenAndTouchesNothing) {
  test::TempDir dir("io_check");
  write_file_atomic(dir.file("a_file"), "x");
  // Fine: an existing directory, a directory still to be made, stdout, a device.
  check_can_write(dir.file("out.json"), "--output");
  check_can_write(dir.file("not/yet/made/out.json"), "--output");
  check_can_write("-", "--output");
  check_can_write("/dev/null", "--output");
  EXPECT_FALSE(path_exists(dir.file("not")));  // nothing is created
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);  // and no probe left
  // A parent that is a file: the error names the flag, the path and the reason.
  const Error e = test::thrown_error([&] { check_can_write(dir.file("a_file/sub/out.json"), "--json"); }, ErrorKind::Io);
  test::expect_message_contains(e, {"--json", "a_file/sub/out.json", "Not a directory"});
}
