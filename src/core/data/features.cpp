#include "mvtag/core/data/features.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/data/list_file.h"

namespace mvtag {

namespace {

[[noreturn]] void fail(const std::string& source, const std::string& key, const std::string& message) {
  Location where;
  where.file = source;
  where.key = key;
  throw_error(ErrorKind::Data, message, where);
}

const PickleValue& require(const PickleValue& dict, const std::string& parent, const std::string& key,
                           const std::string& source) {
  if (dict.type != PickleValue::Type::Dict) {
    fail(source, parent.empty() ? "(record)" : parent,
         std::string("expected a dict, got a ") + pickle_type_name(dict.type));
  }
  const PickleValue* v = dict.find(key);
  const std::string full = parent.empty() ? key : parent + "." + key;
  if (v == nullptr) fail(source, full, "missing from the feature record");
  return *v;
}

const NDArray& require_array(const PickleValue& v, const std::string& key, const std::string& source) {
  if (v.type != PickleValue::Type::Array) {
    fail(source, key, std::string("expected a numpy array, got a ") + pickle_type_name(v.type));
  }
  return v.array;
}

FeatureMatrix finite_matrix(const NDArray& a, std::int64_t rows, std::int64_t cols, const std::string& key,
                            const std::string& source) {
  FeatureMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.data = a.to_float();
  for (std::size_t i = 0; i < m.data.size(); ++i) {
    if (!std::isfinite(m.data[i])) {
      const auto r = static_cast<std::int64_t>(i) / std::max<std::int64_t>(cols, 1);
      const auto c = static_cast<std::int64_t>(i) % std::max<std::int64_t>(cols, 1);
      fail(source, key, "value at [" + std::to_string(r) + ", " + std::to_string(c) + "] is " +
                            (std::isnan(m.data[i]) ? "NaN" : "infinite") + " (as float32)");
    }
  }
  return m;
}

FeatureMatrix image_matrix(const NDArray& a, std::int64_t dim, const std::string& source) {
  const std::string key = "feature.image_pkl";
  const std::string expected = "[T, " + (dim > 0 ? std::to_string(dim) : std::string("D")) + "]";
  if (a.shape.size() != 2 || (dim > 0 && a.shape[1] != dim)) {
    fail(source, key, "expected shape " + expected + ", got " + shape_string(a.shape));
  }
  if (a.shape[0] == 0) fail(source, key, "empty image sequence (shape " + shape_string(a.shape) + ")");
  return finite_matrix(a, a.shape[0], a.shape[1], key, source);
}

FeatureMatrix audio_matrix(const NDArray& a, std::int64_t dim, const std::string& source, bool* was_empty) {
  const std::string key = "feature.audio_pkl";
  const bool empty = (a.shape.size() == 1 || a.shape.size() == 2) && a.shape[0] == 0;
  *was_empty = empty;
  if (empty) {
    FeatureMatrix m;
    m.rows = kEmptyAudioRows;
    m.cols = dim > 0 ? dim : (a.shape.size() == 2 && a.shape[1] > 0 ? a.shape[1] : kDefaultAudioDim);
    m.data.assign(static_cast<std::size_t>(m.rows * m.cols), 0.0f);
    spdlog::debug("{}: audio features are empty ({}); using {} zero rows as the original does", source,
                  shape_string(a.shape), kEmptyAudioRows);
    return m;
  }
  if (a.shape.size() != 2 || (dim > 0 && a.shape[1] != dim)) {
    fail(source, key, "expected shape [Ta, " + (dim > 0 ? std::to_string(dim) : std::string("D")) + "], got " +
                          shape_string(a.shape));
  }
  return finite_matrix(a, a.shape[0], a.shape[1], key, source);
}

// Python's repr() of a float: shortest round-trip digits, scientific outside [1e-4, 1e16).
std::string python_float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string mantissa(buf, r.ptr);
  const std::size_t e = mantissa.find('e');
  const int exp = std::atoi(mantissa.c_str() + e + 1);
  mantissa.resize(e);
  const bool negative = mantissa[0] == '-';
  std::string digits;
  for (char c : mantissa) {
    if (c >= '0' && c <= '9') digits += c;
  }
  std::string out;
  if (exp >= 16 || exp < -4) {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    out += exp < 0 ? "e-" : "e+";
    out += (std::abs(exp) < 10 ? "0" : "") + std::to_string(std::abs(exp));
  } else if (exp >= 0) {
    const auto whole = static_cast<std::size_t>(exp) + 1;
    if (digits.size() <= whole) {
      out = digits + std::string(whole - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, whole) + "." + digits.substr(whole);
    }
  } else {
    out = "0." + std::string(static_cast<std::size_t>(-exp - 1), '0') + digits;
  }
  return negative ? "-" + out : out;
}

// str(record['video']) for the types an id may have. Bytes are read as latin-1, like Python 2 strings.
std::string video_id_text(const PickleValue& v, const std::string& source) {
  switch (v.type) {
    case PickleValue::Type::Str: return v.text;
    case PickleValue::Type::Bytes: return latin1_to_utf8(v.text);
    case PickleValue::Type::Int: return std::to_string(v.integer);
    case PickleValue::Type::Bool: return v.boolean ? "True" : "False";
    case PickleValue::Type::Float: return python_float_repr(v.real);
    default: fail(source, "video", std::string("expected a str, bytes or a number, got a ") + pickle_type_name(v.type));
  }
}

NDArray to_array(const FeatureMatrix& m, std::int64_t rows, const char* name) {
  if (m.rows < 0 || m.cols < 0 || static_cast<std::int64_t>(m.data.size()) != m.rows * m.cols) {
    throw_error(ErrorKind::Runtime, std::string("pickle_video_features: ") + name + " holds " +
                                        std::to_string(m.data.size()) + " values for [" + std::to_string(m.rows) +
                                        ", " + std::to_string(m.cols) + "]");
  }
  if (rows == 0) return NDArray::from_float({0, m.cols}, {});
  return NDArray::from_float({m.rows, m.cols}, m.data);
}

}  // namespace

VideoFeatures video_features_from_record(const PickleValue& record, const std::string& source,
                                         std::int64_t rgb_dim, std::int64_t audio_dim) {
  const PickleValue& feature = require(record, "", "feature", source);
  const PickleValue& image = require(feature, "feature", "image_pkl", source);
  const PickleValue& audio = require(feature, "feature", "audio_pkl", source);
  const PickleValue& video = require(record, "", "video", source);
  VideoFeatures out;
  out.rgb = image_matrix(require_array(image, "feature.image_pkl", source), rgb_dim, source);
  out.audio = audio_matrix(require_array(audio, "feature.audio_pkl", source), audio_dim, source, &out.audio_was_empty);
  out.video_id = video_id_text(video, source);
  return out;
}

VideoFeatures load_video_features(const std::string& path, std::int64_t rgb_dim, std::int64_t audio_dim) {
  return video_features_from_record(load_pickle(path), path, rgb_dim, audio_dim);
}

std::string feature_path_for(const std::string& filelist_dir, const std::string& url) {
  return (std::filesystem::path(filelist_dir) / (video_key(url) + ".pkl")).string();
}

std::string pickle_video_features(const VideoFeatures& f) {
  using P = PickleValue;
  P feature = P::of_dict({
      {P::of_str("image_pkl"), P::of_array(to_array(f.rgb, f.rgb.rows, "rgb"))},
      {P::of_str("audio_pkl"), P::of_array(to_array(f.audio, f.audio_was_empty ? 0 : f.audio.rows, "audio"))},
  });
  return write_pickle(P::of_dict({{P::of_str("video"), P::of_str(f.video_id)}, {P::of_str("feature"), std::move(feature)}}));
}

void write_video_features(const std::string& path, const VideoFeatures& features) {
  write_file_atomic(path, pickle_video_features(features));
}

}  // namespace mvtag
