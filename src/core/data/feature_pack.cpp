#include "mvtag/core/data/feature_pack.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/base/limits.h"
#include "mvtag/core/data/class_map.h"
#include "mvtag/core/data/list_file.h"
#include "mvtag/core/report/progress.h"

namespace mvtag {

namespace {

constexpr char kMagic[8] = {'M', 'V', 'T', 'A', 'G', 'P', 'K', '1'};
constexpr char kEndMagic[8] = {'M', 'V', 'T', 'A', 'G', 'P', 'K', 'E'};
constexpr std::uint64_t kHeaderBytes = 64;
constexpr std::uint64_t kTrailerBytes = 24;
constexpr std::uint64_t kAlign = 64;

std::size_t element_bytes(PackDtype d) { return d == PackDtype::Float16 ? 2 : 4; }

void put_u64(unsigned char* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
std::uint64_t get_u64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return v;
}

// Appends `values` in the pack's dtype; false when a value does not fit float16.
bool append_values(std::vector<unsigned char>& out, const std::vector<float>& values, PackDtype dtype) {
  const std::size_t at = out.size();
  out.resize(at + values.size() * element_bytes(dtype));
  if (dtype == PackDtype::Float32) {
    std::memcpy(out.data() + at, values.data(), values.size() * 4);
    return true;
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    const Eigen::half h(values[i]);
    if (!std::isfinite(static_cast<float>(h))) return false;
    const std::uint16_t bits = Eigen::numext::bit_cast<std::uint16_t>(h);
    std::memcpy(out.data() + at + 2 * i, &bits, 2);
  }
  return true;
}

void read_values(const unsigned char* p, std::size_t count, PackDtype dtype, std::vector<float>& out) {
  out.resize(count);
  if (dtype == PackDtype::Float32) {
    std::memcpy(out.data(), p, count * 4);
    return;
  }
  for (std::size_t i = 0; i < count; ++i) {
    std::uint16_t bits;
    std::memcpy(&bits, p + 2 * i, 2);
    out[i] = static_cast<float>(Eigen::numext::bit_cast<Eigen::half>(bits));
  }
}

}  // namespace

PackDtype parse_pack_dtype(const std::string& name, const std::string& what) {
  if (name == "float32") return PackDtype::Float32;
  if (name == "float16") return PackDtype::Float16;
  throw_error(ErrorKind::Usage, what + ": expected float32 or float16, got '" + name + "'");
}

std::string to_string(PackDtype dtype) { return dtype == PackDtype::Float16 ? "float16" : "float32"; }

bool is_feature_pack(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  std::ifstream in(path, std::ios::binary);
  char magic[8] = {};
  return in.read(magic, 8) && std::memcmp(magic, kMagic, 8) == 0;
}

// ---------------------------------------------------------------------------------------------
// Writer

struct FeaturePackWriter::Impl {
  Impl(const std::string& p, PackDtype d, std::int64_t r, std::int64_t a) : path(p), file(p), dtype(d), rgb_dim(r), audio_dim(a) {}
  std::string path;
  AtomicFile file;
  PackDtype dtype;
  std::int64_t rgb_dim, audio_dim;
  std::uint64_t written = 0;
  nlohmann::json videos = nlohmann::json::array();
  std::unordered_map<std::string, bool> keys;
};

FeaturePackWriter::FeaturePackWriter(const std::string& path, PackDtype dtype, std::int64_t rgb_dim,
                                     std::int64_t audio_dim) {
  if (rgb_dim < 1 || audio_dim < 1) {
    throw_error(ErrorKind::Usage, "a feature pack needs fixed widths (rgb_dim and audio_dim >= 1)", at_file(path));
  }
  impl_ = std::make_unique<Impl>(path, dtype, rgb_dim, audio_dim);
  unsigned char header[kHeaderBytes] = {};
  std::memcpy(header, kMagic, 8);
  impl_->file.write(header, kHeaderBytes);
  impl_->written = kHeaderBytes;
}

FeaturePackWriter::~FeaturePackWriter() = default;

std::size_t FeaturePackWriter::size() const { return impl_->videos.size(); }

void FeaturePackWriter::add(const std::string& key, const VideoFeatures& f) {
  Impl& w = *impl_;
  auto refuse = [&](const std::string& why) {
    throw_error(ErrorKind::Data, "video '" + key + "' cannot be packed: " + why, at_file(w.path));
  };
  if (key.empty()) refuse("empty key");
  if (w.keys.count(key) != 0) refuse("the key is already in the pack (two list rows name the same feature file)");
  if (f.rgb.cols != w.rgb_dim || f.audio.cols != w.audio_dim) {
    refuse("features are [" + std::to_string(f.rgb.rows) + ", " + std::to_string(f.rgb.cols) + "] image and [" +
           std::to_string(f.audio.rows) + ", " + std::to_string(f.audio.cols) + "] audio; the pack's widths are " +
           std::to_string(w.rgb_dim) + " and " + std::to_string(w.audio_dim));
  }
  if (f.rgb.rows < 1 || f.audio.rows < 1) refuse("no image or audio rows");
  nlohmann::json entry = {{"key", key},
                          {"video_id", f.video_id},
                          {"offset", w.written},
                          {"rgb_rows", f.rgb.rows},
                          {"audio_rows", f.audio.rows},
                          {"audio_was_empty", f.audio_was_empty}};
  try {
    (void)entry.dump();
  } catch (const nlohmann::json::exception&) {
    refuse("its key or video id is not valid UTF-8");
  }
  std::vector<unsigned char> bytes;
  if (!append_values(bytes, f.rgb.data, w.dtype) || !append_values(bytes, f.audio.data, w.dtype)) {
    refuse("a value is outside float16's range (±65504): pack it as float32");
  }
  bytes.resize((bytes.size() + kAlign - 1) / kAlign * kAlign, 0);
  w.file.write(bytes.data(), bytes.size());
  w.written += bytes.size();
  w.keys.emplace(key, true);
  w.videos.push_back(std::move(entry));
}

void FeaturePackWriter::commit() {
  Impl& w = *impl_;
  const nlohmann::json index = {{"format", "mvtag-pack"},       {"version", 1},
                                {"dtype", to_string(w.dtype)},  {"rgb_dim", w.rgb_dim},
                                {"audio_dim", w.audio_dim},     {"videos", w.videos}};
  const std::string text = index.dump();
  w.file.write(text.data(), text.size());
  unsigned char trailer[kTrailerBytes];
  put_u64(trailer, w.written);
  put_u64(trailer + 8, text.size());
  std::memcpy(trailer + 16, kEndMagic, 8);
  w.file.write(trailer, kTrailerBytes);
  w.file.commit();
}

// ---------------------------------------------------------------------------------------------
// Reader

std::shared_ptr<const FeaturePack> FeaturePack::open(const std::string& path) {
  auto bad = [&](const std::string& why) -> void {
    throw_error(ErrorKind::Data, "not a valid feature pack: " + why, at_file(path));
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_error(ErrorKind::Io, std::string("cannot open for reading: ") + std::strerror(errno), at_file(path));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    throw_error(ErrorKind::Io, std::string("cannot read: ") + std::strerror(e), at_file(path));
  }
  std::shared_ptr<FeaturePack> pack(new FeaturePack());
  pack->path_ = path;
  pack->bytes_ = static_cast<std::size_t>(st.st_size);
  if (pack->bytes_ < kHeaderBytes + kTrailerBytes) {
    ::close(fd);
    bad(std::to_string(pack->bytes_) + " bytes is too short (truncated?)");
  }
  void* map = ::mmap(nullptr, pack->bytes_, PROT_READ, MAP_SHARED, fd, 0);
  const int map_errno = errno;
  ::close(fd);
  if (map == MAP_FAILED) throw_error(ErrorKind::Io, std::string("cannot map: ") + std::strerror(map_errno), at_file(path));
  pack->data_ = static_cast<const unsigned char*>(map);
  const unsigned char* d = pack->data_;
  if (std::memcmp(d, kMagic, 8) != 0) bad("it does not start with MVTAGPK1");
  const unsigned char* trailer = d + pack->bytes_ - kTrailerBytes;
  if (std::memcmp(trailer + 16, kEndMagic, 8) != 0) bad("it does not end with MVTAGPKE (truncated or still being written?)");
  const std::uint64_t index_at = get_u64(trailer), index_bytes = get_u64(trailer + 8);
  if (index_bytes > limits::kMaxPackIndexBytes) {
    bad("its index is " + std::to_string(index_bytes) + " bytes, more than the limit kMaxPackIndexBytes");
  }
  if (index_at < kHeaderBytes || index_at > pack->bytes_ - kTrailerBytes ||
      index_bytes != pack->bytes_ - kTrailerBytes - index_at) {
    bad("the trailer's index position does not fit the file's " + std::to_string(pack->bytes_) + " bytes");
  }
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(
        reinterpret_cast<const char*>(d + index_at), reinterpret_cast<const char*>(d + index_at + index_bytes),
        [](int depth, nlohmann::json::parse_event_t, nlohmann::json&) { return depth <= limits::kMaxJsonDepth; });
  } catch (const nlohmann::json::exception& e) {
    bad(std::string("its index does not parse: ") + e.what());
  }
  const auto field = [&](const nlohmann::json& j, const char* key, const std::string& where) -> const nlohmann::json& {
    if (!j.is_object() || !j.contains(key)) bad(where + "has no '" + key + "'");
    return j.at(key);
  };
  const auto int_field = [&](const nlohmann::json& j, const char* key, const std::string& where, std::int64_t lo,
                             std::int64_t hi) {
    const nlohmann::json& v = field(j, key, where);
    if (!v.is_number_integer() || v.get<std::int64_t>() < lo || v.get<std::int64_t>() > hi) {
      bad(where + "'" + key + "' is " + v.dump() + ", expected an integer in [" + std::to_string(lo) + ", " +
          std::to_string(hi) + "]");
    }
    return v.get<std::int64_t>();
  };
  if (field(index, "format", "the index ") != "mvtag-pack") bad("the index's 'format' is not \"mvtag-pack\"");
  if (int_field(index, "version", "the index ", 1, 1) != 1) bad("unsupported version");
  const nlohmann::json& dtype = field(index, "dtype", "the index ");
  if (!dtype.is_string() || (dtype != "float32" && dtype != "float16")) bad("the index's 'dtype' is " + dtype.dump());
  pack->dtype_ = dtype == "float16" ? PackDtype::Float16 : PackDtype::Float32;
  constexpr std::int64_t kMaxDim = std::int64_t{1} << 24;
  pack->rgb_dim_ = int_field(index, "rgb_dim", "the index ", 1, kMaxDim);
  pack->audio_dim_ = int_field(index, "audio_dim", "the index ", 1, kMaxDim);
  const nlohmann::json& videos = field(index, "videos", "the index ");
  if (!videos.is_array()) bad("the index's 'videos' is not a list");
  const std::size_t elem = element_bytes(pack->dtype_);
  const auto max_rows = static_cast<std::int64_t>(limits::kMaxTensorBytes / 4);
  pack->entries_.reserve(videos.size());
  for (std::size_t i = 0; i < videos.size(); ++i) {
    const nlohmann::json& v = videos[i];
    const std::string where = "videos[" + std::to_string(i) + "] ";
    Entry e;
    const nlohmann::json& key = field(v, "key", where);
    const nlohmann::json& id = field(v, "video_id", where);
    if (!key.is_string() || !id.is_string()) bad(where + "key and video_id must be strings");
    e.key = key.get<std::string>();
    e.video_id = id.get<std::string>();
    e.offset = static_cast<std::uint64_t>(int_field(v, "offset", where, kHeaderBytes, static_cast<std::int64_t>(index_at)));
    e.rgb_rows = int_field(v, "rgb_rows", where, 1, max_rows / pack->rgb_dim_);
    e.audio_rows = int_field(v, "audio_rows", where, 1, max_rows / pack->audio_dim_);
    const nlohmann::json& empty = field(v, "audio_was_empty", where);
    if (!empty.is_boolean()) bad(where + "'audio_was_empty' is not true or false");
    e.audio_was_empty = empty.get<bool>();
    const std::uint64_t values = static_cast<std::uint64_t>(e.rgb_rows * pack->rgb_dim_ + e.audio_rows * pack->audio_dim_);
    if (e.offset % elem != 0 || values * elem > index_at - e.offset) {
      bad(where + "('" + e.key + "') lies outside the data region");
    }
    if (!pack->by_key_.emplace(e.key, i).second) bad(where + "repeats the key '" + e.key + "'");
    pack->entries_.push_back(std::move(e));
  }
  return pack;
}

FeaturePack::~FeaturePack() {
  if (data_ != nullptr) ::munmap(const_cast<unsigned char*>(data_), bytes_);
}

std::int64_t FeaturePack::find(const std::string& key) const {
  const auto it = by_key_.find(key);
  return it == by_key_.end() ? -1 : static_cast<std::int64_t>(it->second);
}

VideoFeatures FeaturePack::load(std::size_t i, std::int64_t rgb_dim, std::int64_t audio_dim) const {
  const Entry& e = entries_.at(i);
  if ((rgb_dim > 0 && rgb_dim != rgb_dim_) || (audio_dim > 0 && audio_dim != audio_dim_)) {
    throw_error(ErrorKind::Data,
                "video '" + e.key + "': the pack holds " + std::to_string(rgb_dim_) + "-wide image and " +
                    std::to_string(audio_dim_) + "-wide audio features, the model expects " + std::to_string(rgb_dim) +
                    " and " + std::to_string(audio_dim),
                at_file(path_));
  }
  VideoFeatures f;
  f.video_id = e.video_id;
  f.audio_was_empty = e.audio_was_empty;
  f.rgb.rows = e.rgb_rows;
  f.rgb.cols = rgb_dim_;
  f.audio.rows = e.audio_rows;
  f.audio.cols = audio_dim_;
  const std::size_t elem = element_bytes(dtype_);
  const auto rgb_values = static_cast<std::size_t>(e.rgb_rows * rgb_dim_);
  read_values(data_ + e.offset, rgb_values, dtype_, f.rgb.data);
  read_values(data_ + e.offset + rgb_values * elem, static_cast<std::size_t>(e.audio_rows * audio_dim_), dtype_,
              f.audio.data);
  return f;
}

PackReport pack_features(const PackOptions& options) {
  const ListFile list = read_list_file(options.list_file, ListMode::Infer, ClassMap());
  PackReport report;
  report.listed = list.items.size();
  FeaturePackWriter writer(options.output, options.dtype, options.rgb_dim, options.audio_dim);
  std::unordered_map<std::string, bool> done;
  std::unique_ptr<Progress> progress;
  if (options.progress) progress = std::make_unique<Progress>("pack", static_cast<std::int64_t>(report.listed), "videos");
  for (const VideoItem& item : list.items) {
    const std::string key = video_key(item.name);
    const std::string path = feature_path_for(options.feature_dir, item.name);
    if (done.count(key) != 0) {
      ++report.shared;
    } else if (!path_exists(path)) {
      report.missing.push_back(item.name);
    } else {
      std::optional<VideoFeatures> features;
      try {  // a feature file that does not load is skipped, as the loader skips it
        features = load_video_features(path, options.rgb_dim, options.audio_dim);
      } catch (const Error& e) {
        report.unreadable.push_back(std::string(e.what()));
      }
      if (features) {
        try {
          writer.add(key, *features);
          done.emplace(key, true);
          ++report.packed;
        } catch (const Error& e) {
          if (e.kind() != ErrorKind::Data) throw;  // writing the pack failed: that ends the job
          report.unreadable.push_back(std::string(e.what()));  // refused before anything was written
        }
      }
    }
    if (progress) progress->advance(1);
  }
  if (report.packed == 0) {
    throw_error(ErrorKind::Data, "no video of the list could be packed (" + std::to_string(report.missing.size()) +
                                     " without a feature file in " + options.feature_dir + ", " +
                                     std::to_string(report.unreadable.size()) + " unreadable)",
                at_file(options.list_file));
  }
  writer.commit();
  report.bytes = static_cast<std::uint64_t>(std::filesystem::file_size(options.output));
  if (progress) report.seconds = progress->finish();
  return report;
}

}  // namespace mvtag
