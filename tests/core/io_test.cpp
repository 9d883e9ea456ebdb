#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "mvtag/error.h"
#include "mvtag/io.h"

namespace fs = std::filesystem;
using namespace mvtag;

namespace {
fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("mvtag_io_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}
std::size_t entries(const fs::path& d) {
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(d), fs::directory_iterator{}));
}
}  // namespace

TEST(Io, WriteAtomicCreatesParentsAndLeavesNoTemp) {
  const auto d = fresh_dir("write");
  const auto path = (d / "sub" / "out.txt").string();
  write_file_atomic(path, "hello");
  EXPECT_EQ(read_file(path), "hello");
  write_file_atomic(path, "again");
  EXPECT_EQ(read_file(path), "again");
  EXPECT_EQ(entries(d / "sub"), 1u);
}

TEST(Io, AtomicFileWithoutCommitLeavesNothing) {
  const auto d = fresh_dir("abandon");
  {
    AtomicFile f((d / "x.bin").string());
    f.write("abc", 3);
  }
  EXPECT_EQ(entries(d), 0u);
}

TEST(Io, ReadMissingFileNamesIt) {
  try {
    read_file("/nonexistent/mvtag/file.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Io);
    EXPECT_EQ(e.where().file, "/nonexistent/mvtag/file.txt");
  }
  EXPECT_THROW(read_file(fs::temp_directory_path().string()), Error);
}

TEST(Io, AtomicDirectoryReplacesOnCommitOnly) {
  const auto d = fresh_dir("dir");
  const auto target = (d / "ckpt").string();
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
  EXPECT_EQ(entries(d), 1u);
}
