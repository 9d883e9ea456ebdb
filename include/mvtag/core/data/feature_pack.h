// A feature pack: the .pkl feature files of a list in one indexed, memory-mapped file (`mvtag
// pack`), so the loader reads a video with one copy instead of running the unpickler. train, eval
// and infer use a pack wherever a feature directory is expected (the `filelist` keys): a path
// that names a file starting with the pack's magic is read as a pack (docs/FORMATS.md).
//
// Layout (little-endian):
//   [0, 64)            "MVTAGPK1" then zeros
//   [64, index)        per video: image rows [T, rgb_dim] then audio rows [Ta, audio_dim], float32
//                      or float16, each video aligned to 64 bytes
//   [index, end − 24)  a JSON index: {"format": "mvtag-pack", "version": 1, "dtype", "rgb_dim",
//                      "audio_dim", "videos": [{"key", "video_id", "offset", "rgb_rows",
//                      "audio_rows", "audio_was_empty"}, ...]}; key = the feature file's name
//                      without ".pkl" (video_key() of the list's first column)
//   [end − 24, end)    u64 index offset, u64 index bytes, "MVTAGPKE"
//
// Everything in the index is checked when the pack is opened (offsets, sizes, duplicate keys),
// so a damaged pack is refused with a message naming the file and the entry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "mvtag/core/data/features.h"

namespace mvtag {

enum class PackDtype { Float32, Float16 };
// "float32" / "float16"; Error(Usage) naming `what` for anything else.
PackDtype parse_pack_dtype(const std::string& name, const std::string& what);
std::string to_string(PackDtype dtype);

// True when `path` is a regular file that starts with the pack's magic.
bool is_feature_pack(const std::string& path);

// Writes a pack atomically: add() videos, then commit(). Destroying it without commit() leaves
// no file behind.
class FeaturePackWriter {
 public:
  FeaturePackWriter(const std::string& path, PackDtype dtype, std::int64_t rgb_dim, std::int64_t audio_dim);
  ~FeaturePackWriter();
  FeaturePackWriter(const FeaturePackWriter&) = delete;
  FeaturePackWriter& operator=(const FeaturePackWriter&) = delete;

  // Error(Data) naming `key` (and nothing written) when the widths are not the pack's, the key is
  // already in it, the id is not UTF-8, or a value does not fit float16.
  void add(const std::string& key, const VideoFeatures& features);
  std::size_t size() const;
  void commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class FeaturePack {
 public:
  // Maps the file and checks its index; Error(Data) naming the file (and the entry) otherwise.
  static std::shared_ptr<const FeaturePack> open(const std::string& path);
  ~FeaturePack();
  FeaturePack(const FeaturePack&) = delete;
  FeaturePack& operator=(const FeaturePack&) = delete;

  const std::string& path() const { return path_; }
  PackDtype dtype() const { return dtype_; }
  std::int64_t rgb_dim() const { return rgb_dim_; }
  std::int64_t audio_dim() const { return audio_dim_; }
  std::size_t size() const { return entries_.size(); }
  // Position of `key` in the pack, or -1.
  std::int64_t find(const std::string& key) const;
  const std::string& key(std::size_t i) const { return entries_.at(i).key; }

  // Video i as float32 features. A requested dim > 0 must equal the pack's (Error(Data) naming
  // the pack and the key). Safe to call from several threads at once.
  VideoFeatures load(std::size_t i, std::int64_t rgb_dim, std::int64_t audio_dim) const;

 private:
  FeaturePack() = default;
  struct Entry {
    std::string key, video_id;
    std::uint64_t offset = 0;
    std::int64_t rgb_rows = 0, audio_rows = 0;
    bool audio_was_empty = false;
  };
  std::string path_;
  PackDtype dtype_ = PackDtype::Float32;
  std::int64_t rgb_dim_ = 0, audio_dim_ = 0;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, std::size_t> by_key_;
  const unsigned char* data_ = nullptr;
  std::size_t bytes_ = 0;
};

// `mvtag pack`: the feature files a list names, in list order, into one pack.
struct PackOptions {
  std::string list_file;    // train.txt, val.txt, ... (only the first column is used)
  std::string feature_dir;  // the directory of .pkl files
  std::string output;
  PackDtype dtype = PackDtype::Float32;
  std::int64_t rgb_dim = 2048, audio_dim = 128;
  bool progress = true;     // a progress line with rate and ETA
};

struct PackReport {
  std::size_t listed = 0;      // rows of the list (after its own duplicate check)
  std::size_t packed = 0;      // videos written
  std::size_t shared = 0;      // rows whose feature file was already packed for another row
  std::vector<std::string> missing;     // rows without a feature file
  std::vector<std::string> unreadable;  // "<file>: <reason>" for feature files that did not load
  std::uint64_t bytes = 0;     // size of the pack
  double seconds = 0;
};

// Bad and missing samples are skipped and reported, as training does; the pack is written
// atomically. Error(Data) naming the list when no video could be packed.
PackReport pack_features(const PackOptions& options);

}  // namespace mvtag
