// ZIP archives whose entries are stored uncompressed: the container torch.save has written since
// PyTorch 1.6 (`pytorch_model.bin`: <archive>/data.pkl, <archive>/data/<storage key>, ...).
// The central directory is read from the end of the file (ZIP64 records are followed when the
// classic fields overflow); each entry is read through its local header, and its CRC-32 is
// checked. Compressed, encrypted and multi-disk archives are refused with a message saying so.
// See docs/FORMATS.md.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace mvtag {

struct ZipEntry {
  std::string name;
  std::uint16_t method = 0;  // 0 = stored (the only one read); 8 = deflate
  std::uint16_t flags = 0;   // bit 0: encrypted
  std::uint32_t crc32 = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t size = 0;
  std::uint64_t local_header_offset = 0;
};

class ZipReader {
 public:
  // Reads and checks the central directory. Error(Io) if the file cannot be opened, Error(Data)
  // naming the file and what is wrong for anything that is not a well-formed single-disk ZIP.
  explicit ZipReader(const std::string& path);

  const std::string& path() const { return path_; }
  const std::vector<ZipEntry>& entries() const { return entries_; }  // central-directory order
  const ZipEntry* find(std::string_view name) const;                 // nullptr if absent

  // The entry's bytes. Error(Data) naming the entry for a compressed or encrypted entry, a
  // local header that does not match the central directory, data beyond the end of the file or
  // a CRC-32 mismatch.
  std::string read(const ZipEntry& entry);

 private:
  void read_at(std::uint64_t offset, char* out, std::size_t size, const std::string& what);

  std::string path_;
  std::ifstream in_;
  std::uint64_t file_size_ = 0;
  std::vector<ZipEntry> entries_;
};

// True if the file starts with a ZIP local-header signature ("PK\3\4").
bool has_zip_signature(const std::string& path);

// CRC-32 (ISO-HDLC, as ZIP uses it) of `bytes`, continuing from `crc`: zlib's crc32().
std::uint32_t crc32(std::string_view bytes, std::uint32_t crc = 0);

}  // namespace mvtag
