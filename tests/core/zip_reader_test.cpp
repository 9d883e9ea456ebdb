#include "mvtag/core/formats/zip_reader.h"

#include <gtest/gtest.h>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "test_util.h"

using namespace mvtag;

namespace {

std::string le(std::uint64_t v, int bytes) { return mvtag::test::le_bytes(v, bytes); }

struct Entry {
  std::string name;
  std::string data;
  std::uint16_t method = 0;
  std::string local_extra;  // torch.save pads here so the data is 64-byte aligned
};

struct ZipOptions {
  bool zip64 = false;      // sizes, offsets and counts only in ZIP64 records
  std::string comment;
  bool bad_crc = false;
};

// A ZIP archive laid out by hand from the APPNOTE field tables.
std::string make_zip(const std::vector<Entry>& entries, const ZipOptions& o = {}) {
  std::string out, cd;
  for (const Entry& e : entries) {
    const std::uint32_t crc = crc32(e.data) ^ (o.bad_crc ? 1u : 0u);
    const std::uint64_t offset = out.size();
    out += le(0x04034b50, 4) + le(20, 2) + le(0, 2) + le(e.method, 2) + le(0, 4) + le(crc, 4) +
           le(e.data.size(), 4) + le(e.data.size(), 4) + le(e.name.size(), 2) + le(e.local_extra.size(), 2) + e.name +
           e.local_extra + e.data;
    const std::string extra = o.zip64 ? le(1, 2) + le(24, 2) + le(e.data.size(), 8) + le(e.data.size(), 8) + le(offset, 8) : "";
    const std::uint64_t big = 0xFFFFFFFF;
    cd += le(0x02014b50, 4) + le(45, 2) + le(45, 2) + le(0, 2) + le(e.method, 2) + le(0, 4) + le(crc, 4) +
          le(o.zip64 ? big : e.data.size(), 4) + le(o.zip64 ? big : e.data.size(), 4) + le(e.name.size(), 2) +
          le(extra.size(), 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(o.zip64 ? big : offset, 4) + e.name + extra;
  }
  const std::uint64_t cd_offset = out.size();
  out += cd;
  if (o.zip64) {
    const std::uint64_t end64 = out.size();
    out += le(0x06064b50, 4) + le(44, 8) + le(45, 2) + le(45, 2) + le(0, 4) + le(0, 4) + le(entries.size(), 8) +
           le(entries.size(), 8) + le(cd.size(), 8) + le(cd_offset, 8);
    out += le(0x07064b50, 4) + le(0, 4) + le(end64, 8) + le(1, 4);
    out += le(0x06054b50, 4) + le(0, 2) + le(0, 2) + le(0xFFFF, 2) + le(0xFFFF, 2) + le(0xFFFFFFFF, 4) +
           le(0xFFFFFFFF, 4) + le(o.comment.size(), 2) + o.comment;
  } else {
    out += le(0x06054b50, 4) + le(0, 2) + le(0, 2) + le(entries.size(), 2) + le(entries.size(), 2) + le(cd.size(), 4) +
           le(cd_offset, 4) + le(o.comment.size(), 2) + o.comment;
  }
  return out;
}

class ZipReaderTest : public ::testing::Test {
 protected:
  std::string put(const std::string& bytes) { return dir_.write("z" + std::to_string(n_++) + ".zip", bytes); }
  // The message of the Error(Data) reading `bytes` (whole archive and every entry) throws.
  std::string error_of(const std::string& bytes) {
    const auto read_all = [&] {
      ZipReader zip(put(bytes));
      for (const ZipEntry& e : zip.entries()) zip.read(e);
    };
    return mvtag::test::thrown_error(read_all, ErrorKind::Data).what();
  }

  mvtag::test::TempDir dir_{"zip_test"};
  int n_ = 0;
};

const std::vector<Entry> kEntries = {
    {"archive/data.pkl", "\x80\x02}.", 0, ""},
    {"archive/data/0", std::string(40, '\x07'), 0, std::string("FB\x0c\x00", 4) + std::string(12, 'Z')},
    {"archive/version", "3\n", 0, ""},
};

}  // namespace

TEST(Crc32, MatchesTheCheckValueAndContinues) {
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);  // the standard check value of CRC-32/ISO-HDLC
  EXPECT_EQ(crc32(""), 0u);
  EXPECT_EQ(crc32("The quick brown fox jumps over the lazy dog"), 0x414FA339u);
  EXPECT_EQ(crc32(std::string(1, '\0')), 0xD202EF8Du);  // a NUL byte is data, not an end
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes += static_cast<char>(b);
  EXPECT_EQ(crc32(all_bytes), 0x29058C73u);  // Python: zlib.crc32(bytes(range(256)))
  const std::string long_text(1000, 'x');
  EXPECT_EQ(crc32(long_text.substr(300), crc32(long_text.substr(0, 300))), crc32(long_text));
}

TEST_F(ZipReaderTest, ReadsStoredEntriesThroughTheirLocalHeaders) {
  ZipReader zip(put(make_zip(kEntries, {false, "a comment", false})));
  ASSERT_EQ(zip.entries().size(), 3u);
  EXPECT_EQ(zip.entries()[1].name, "archive/data/0");
  for (const Entry& e : kEntries) {
    const ZipEntry* found = zip.find(e.name);
    ASSERT_NE(found, nullptr) << e.name;
    EXPECT_EQ(zip.read(*found), e.data) << e.name;  // local extra fields skipped
  }
  EXPECT_EQ(zip.find("archive/data/1"), nullptr);
}

TEST_F(ZipReaderTest, FollowsZip64Records) {
  ZipReader zip(put(make_zip(kEntries, {true, "", false})));
  ASSERT_EQ(zip.entries().size(), 3u);
  EXPECT_EQ(zip.entries()[1].size, 40u);
  EXPECT_EQ(zip.read(zip.entries()[1]), kEntries[1].data);
  EXPECT_EQ(zip.read(*zip.find("archive/version")), "3\n");
}

TEST_F(ZipReaderTest, RefusesCompressedEntriesSayingWhy) {
  std::vector<Entry> entries = kEntries;
  entries[1].method = 8;
  const std::string e = error_of(make_zip(entries));
  EXPECT_NE(e.find("entry 'archive/data/0' is compressed (deflate)"), std::string::npos) << e;
  EXPECT_NE(e.find("re-zipped"), std::string::npos) << e;
}

TEST_F(ZipReaderTest, ChecksCrcAndStructure) {
  EXPECT_NE(error_of(make_zip(kEntries, {false, "", true})).find("CRC-32 mismatch"), std::string::npos);
  EXPECT_NE(error_of("just some bytes, no archive here").find("not a ZIP archive"), std::string::npos);
  EXPECT_NE(error_of("").find("not a ZIP archive"), std::string::npos);
  std::vector<Entry> twice = {kEntries[0], kEntries[0]};
  EXPECT_NE(error_of(make_zip(twice)).find("entry 'archive/data.pkl' appears twice"), std::string::npos);
}

TEST_F(ZipReaderTest, ReportsTruncationAndCorruption) {
  const std::string full = make_zip(kEntries);
  // The central directory cut off: no end record any more.
  EXPECT_NE(error_of(full.substr(0, full.size() - 30)).find("not a ZIP archive"), std::string::npos);
  // Data cut out of the middle: the directory points past the end.
  const std::string cut = full.substr(0, 40) + full.substr(100);
  const std::string e = error_of(cut);
  EXPECT_TRUE(e.find("beyond the end of the file") != std::string::npos ||
              e.find("not a central-directory header") != std::string::npos ||
              e.find("no local header") != std::string::npos)
      << e;
  // A local header that names another file.
  std::string renamed = full;
  renamed[30] = 'X';
  EXPECT_NE(error_of(renamed).find("the local header names 'Xrchive/data.pkl'"), std::string::npos);
}

TEST_F(ZipReaderTest, DetectsTheSignature) {
  EXPECT_TRUE(has_zip_signature(put(make_zip(kEntries))));
  EXPECT_FALSE(has_zip_signature(put("\x80\x02.")));
  EXPECT_FALSE(has_zip_signature(dir_.file("missing")));
  EXPECT_THROW(ZipReader(dir_.file("missing")), Error);
}
