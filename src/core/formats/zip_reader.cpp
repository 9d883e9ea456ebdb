#include "mvtag/core/formats/zip_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_set>

#include <zlib.h>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/limits.h"

namespace mvtag {

namespace {

constexpr std::uint32_t kLocalHeader = 0x04034b50;
constexpr std::uint32_t kCentralHeader = 0x02014b50;
constexpr std::uint32_t kEndOfCentralDirectory = 0x06054b50;
constexpr std::uint32_t kZip64Locator = 0x07064b50;
constexpr std::uint32_t kZip64End = 0x06064b50;
constexpr std::uint16_t kZip64ExtraId = 0x0001;
constexpr std::size_t kEocdSize = 22;
constexpr std::size_t kMaxComment = 0xFFFF;
constexpr std::size_t kCentralHeaderSize = 46;
constexpr std::size_t kLocalHeaderSize = 30;

std::uint64_t le(std::string_view b, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes; i-- > 0;) v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<std::size_t>(i)]);
  return v;
}

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw_error(ErrorKind::Data, what, at_file(path));
}

std::string method_name(std::uint16_t method) {
  switch (method) {
    case 8: return "deflate";
    case 9: return "deflate64";
    case 12: return "bzip2";
    case 14: return "lzma";
    case 93: return "zstd";
    default: return "method " + std::to_string(method);
  }
}

}  // namespace

std::uint32_t crc32(std::string_view bytes, std::uint32_t crc) {
  // zlib's length is a uInt: feed larger inputs in pieces (a checkpoint entry can pass 4 GiB).
  constexpr std::size_t kPiece = std::size_t{1} << 30;
  uLong c = crc;
  const auto* p = reinterpret_cast<const Bytef*>(bytes.data());
  for (std::size_t left = bytes.size(); left > 0;) {
    const std::size_t n = std::min(left, kPiece);
    c = ::crc32(c, p, static_cast<uInt>(n));
    p += n;
    left -= n;
  }
  return static_cast<std::uint32_t>(c);
}

bool has_zip_signature(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && std::memcmp(magic, "PK\x03\x04", 4) == 0;
}

void ZipReader::read_at(std::uint64_t offset, char* out, std::size_t size, const std::string& what) {
  if (offset > file_size_ || size > file_size_ - offset) {
    fail(path_, what + " at byte " + std::to_string(offset) + " (" + std::to_string(size) +
                    " bytes) lies beyond the end of the file (" + std::to_string(file_size_) +
                    " bytes): truncated or corrupt archive");
  }
  in_.clear();
  in_.seekg(static_cast<std::streamoff>(offset));
  in_.read(out, static_cast<std::streamsize>(size));
  if (static_cast<std::size_t>(in_.gcount()) != size) {
    throw_error(ErrorKind::Io, "read failed: " + std::string(std::strerror(errno)), at_file(path_));
  }
}

namespace {

struct Directory {
  std::uint64_t count = 0;
  std::uint64_t size = 0;
  std::uint64_t offset = 0;
};

// The ZIP64 extra field replaces, in this order, each classic field that holds its maximum.
void apply_zip64_extra(std::string_view extra, ZipEntry& e, bool need_size, bool need_csize, bool need_offset,
                       const std::string& path) {
  for (std::size_t at = 0; at + 4 <= extra.size();) {
    const auto id = static_cast<std::uint16_t>(le(extra, at, 2));
    const std::size_t len = static_cast<std::size_t>(le(extra, at + 2, 2));
    if (at + 4 + len > extra.size()) break;
    if (id == kZip64ExtraId) {
      std::size_t p = at + 4;
      const auto take = [&](std::uint64_t& field) {
        if (p + 8 > at + 4 + len) fail(path, "entry '" + e.name + "': ZIP64 extra field too short");
        field = le(extra, p, 8);
        p += 8;
      };
      if (need_size) take(e.size);
      if (need_csize) take(e.compressed_size);
      if (need_offset) take(e.local_header_offset);
      return;
    }
    at += 4 + len;
  }
  if (need_size || need_csize || need_offset) {
    fail(path, "entry '" + e.name + "': sizes or offset need a ZIP64 extra field, which is missing");
  }
}

}  // namespace

ZipReader::ZipReader(const std::string& path) : path_(path) {
  in_.open(path, std::ios::binary | std::ios::ate);
  if (!in_) throw_error(ErrorKind::Io, "cannot open for reading: " + std::string(std::strerror(errno)), at_file(path));
  file_size_ = static_cast<std::uint64_t>(in_.tellg());

  // The end-of-central-directory record: the last 22 bytes, or further back behind a comment.
  const std::size_t tail_size = static_cast<std::size_t>(std::min<std::uint64_t>(file_size_, kEocdSize + kMaxComment));
  std::string tail(tail_size, '\0');
  read_at(file_size_ - tail_size, tail.data(), tail_size, "the end of the archive");
  std::size_t eocd = std::string::npos;
  for (std::size_t at = tail_size >= kEocdSize ? tail_size - kEocdSize + 1 : 0; at-- > 0;) {
    if (le(tail, at, 4) == kEndOfCentralDirectory && at + kEocdSize + le(tail, at + 20, 2) == tail_size) {
      eocd = at;
      break;
    }
  }
  if (eocd == std::string::npos) fail(path_, "not a ZIP archive: no end-of-central-directory record");
  const std::uint64_t eocd_offset = file_size_ - tail_size + eocd;
  if (le(tail, eocd + 4, 2) != 0 || le(tail, eocd + 6, 2) != 0) fail(path_, "multi-disk ZIP archives are not supported");
  Directory dir{le(tail, eocd + 10, 2), le(tail, eocd + 12, 4), le(tail, eocd + 16, 4)};

  if (dir.count == 0xFFFF || dir.size == 0xFFFFFFFF || dir.offset == 0xFFFFFFFF) {
    if (eocd_offset < 20) fail(path_, "ZIP64 archive without a ZIP64 end-of-central-directory locator");
    char locator[20];
    read_at(eocd_offset - 20, locator, 20, "the ZIP64 locator");
    const std::string_view loc(locator, 20);
    if (le(loc, 0, 4) != kZip64Locator) fail(path_, "ZIP64 archive without a ZIP64 end-of-central-directory locator");
    char end64[56];
    read_at(le(loc, 8, 8), end64, 56, "the ZIP64 end-of-central-directory record");
    const std::string_view e(end64, 56);
    if (le(e, 0, 4) != kZip64End) fail(path_, "the ZIP64 locator does not point at a ZIP64 end-of-central-directory record");
    dir = Directory{le(e, 32, 8), le(e, 40, 8), le(e, 48, 8)};
  }
  if (dir.size > file_size_ || dir.offset > file_size_ - dir.size) {
    fail(path_, "the central directory (byte " + std::to_string(dir.offset) + ", " + std::to_string(dir.size) +
                    " bytes) lies beyond the end of the file: truncated or corrupt archive");
  }
  if (dir.count > limits::kMaxZipEntries) {
    fail(path_, "the central directory claims " + std::to_string(dir.count) + " entries, above the limit of " +
                    std::to_string(limits::kMaxZipEntries) + " (kMaxZipEntries)");
  }
  if (dir.count > dir.size / kCentralHeaderSize) {
    fail(path_, "the central directory claims " + std::to_string(dir.count) + " entries in " +
                    std::to_string(dir.size) + " bytes");
  }
  std::string cd(static_cast<std::size_t>(dir.size), '\0');
  read_at(dir.offset, cd.data(), cd.size(), "the central directory");

  std::unordered_set<std::string> names;
  std::size_t at = 0;
  for (std::uint64_t i = 0; i < dir.count; ++i) {
    const std::string where = "central directory entry #" + std::to_string(i);
    if (at + kCentralHeaderSize > cd.size() || le(cd, at, 4) != kCentralHeader) {
      fail(path_, where + " at byte " + std::to_string(dir.offset + at) + " is not a central-directory header");
    }
    const std::size_t name_len = static_cast<std::size_t>(le(cd, at + 28, 2));
    const std::size_t extra_len = static_cast<std::size_t>(le(cd, at + 30, 2));
    const std::size_t comment_len = static_cast<std::size_t>(le(cd, at + 32, 2));
    if (at + kCentralHeaderSize + name_len + extra_len + comment_len > cd.size()) {
      fail(path_, where + " runs past the end of the central directory");
    }
    ZipEntry e;
    e.flags = static_cast<std::uint16_t>(le(cd, at + 8, 2));
    e.method = static_cast<std::uint16_t>(le(cd, at + 10, 2));
    e.crc32 = static_cast<std::uint32_t>(le(cd, at + 16, 4));
    e.compressed_size = le(cd, at + 20, 4);
    e.size = le(cd, at + 24, 4);
    e.local_header_offset = le(cd, at + 42, 4);
    e.name = cd.substr(at + kCentralHeaderSize, name_len);
    apply_zip64_extra(std::string_view(cd).substr(at + kCentralHeaderSize + name_len, extra_len), e,
                      e.size == 0xFFFFFFFF, e.compressed_size == 0xFFFFFFFF, e.local_header_offset == 0xFFFFFFFF,
                      path_);
    if (!names.insert(e.name).second) fail(path_, "entry '" + e.name + "' appears twice");
    entries_.push_back(std::move(e));
    at += kCentralHeaderSize + name_len + extra_len + comment_len;
  }
}

const ZipEntry* ZipReader::find(std::string_view name) const {
  for (const ZipEntry& e : entries_) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

std::string ZipReader::read(const ZipEntry& e) {
  const std::string where = "entry '" + e.name + "'";
  if (e.flags & 1) fail(path_, where + " is encrypted");
  if (e.method != 0) {
    fail(path_, where + " is compressed (" + method_name(e.method) +
                    "); torch.save stores every entry uncompressed, so the archive was probably re-zipped: "
                    "unzip it and zip it again with `zip -0`, or load and save it with torch");
  }
  if (e.compressed_size != e.size) fail(path_, where + ": stored entry whose compressed and plain sizes differ");
  char header[kLocalHeaderSize];
  read_at(e.local_header_offset, header, kLocalHeaderSize, where + ": local header");
  const std::string_view h(header, kLocalHeaderSize);
  if (le(h, 0, 4) != kLocalHeader) {
    fail(path_, where + ": no local header at byte " + std::to_string(e.local_header_offset));
  }
  const std::size_t name_len = static_cast<std::size_t>(le(h, 26, 2));
  const std::size_t extra_len = static_cast<std::size_t>(le(h, 28, 2));
  std::string local_name(name_len, '\0');
  read_at(e.local_header_offset + kLocalHeaderSize, local_name.data(), name_len, where + ": local name");
  if (local_name != e.name) fail(path_, where + ": the local header names '" + local_name + "'");
  if (le(h, 8, 2) != e.method) fail(path_, where + ": local header and central directory disagree on the method");
  const std::uint64_t data_offset = e.local_header_offset + kLocalHeaderSize + name_len + extra_len;
  if (data_offset > file_size_ || e.size > file_size_ - data_offset) {
    fail(path_, where + ": data at byte " + std::to_string(data_offset) + " (" + std::to_string(e.size) +
                    " bytes) lies beyond the end of the file (" + std::to_string(file_size_) +
                    " bytes): truncated or corrupt archive");
  }
  std::string data(static_cast<std::size_t>(e.size), '\0');
  read_at(data_offset, data.data(), data.size(), where + ": data");
  const std::uint32_t crc = crc32(data);
  if (crc != e.crc32) {
    fail(path_, where + ": CRC-32 mismatch (stored " + std::to_string(e.crc32) + ", computed " +
                    std::to_string(crc) + "): the file is corrupt");
  }
  return data;
}

}  // namespace mvtag
