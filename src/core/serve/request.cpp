#include "mvtag/core/serve/request.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>

#include "mvtag/core/base/error.h"
#include "mvtag/core/formats/ndarray.h"

namespace mvtag {

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& field, const std::string& message) {
  Location where;
  where.key = field;
  throw_error(ErrorKind::Data, message, where);
}

const char* json_type(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return "a number";
    case json::value_t::binary: return "binary";
    case json::value_t::discarded: return "nothing";
  }
  return "a value";
}

void check_finite(float v, const std::string& field, std::int64_t row, std::int64_t col) {
  if (!std::isfinite(v)) {
    bad(fmt::format("{}[{}][{}]", field, row, col),
        std::isnan(v) ? "NaN is not a feature value" : "an infinite value (or one beyond float32's range) is not a feature value");
  }
}

void check_frames(std::int64_t rows, std::int64_t cols, const std::string& field, std::int64_t width,
                  std::int64_t max_frames, bool allow_empty) {
  check_frame_count(rows, max_frames, field);
  if (rows == 0 && !allow_empty) bad(field, "needs at least one frame");
  if (rows > 0 && cols != width) {
    bad(field, fmt::format("frames must be {} wide (the model's width), got {}", width, cols));
  }
}

FeatureMatrix from_nested(const json& value, const std::string& field, std::int64_t width, std::int64_t max_frames,
                          bool allow_empty) {
  FeatureMatrix m;
  const auto rows = static_cast<std::int64_t>(value.size());
  check_frames(rows, width, field, width, max_frames, allow_empty);  // each row's width is checked below
  if (rows == 0) {
    m.cols = width;
    return m;
  }
  m.rows = rows;
  m.cols = width;
  m.data.reserve(static_cast<std::size_t>(rows * width));
  for (std::int64_t r = 0; r < rows; ++r) {
    const json& row = value[static_cast<std::size_t>(r)];
    const std::string row_field = fmt::format("{}[{}]", field, r);
    if (!row.is_array()) bad(row_field, fmt::format("a frame must be an array of {} numbers, got {}", width, json_type(row)));
    if (static_cast<std::int64_t>(row.size()) != width) {
      bad(row_field, fmt::format("frames must be {} wide (the model's width), got {}", width, row.size()));
    }
    for (std::int64_t c = 0; c < width; ++c) {
      const json& x = row[static_cast<std::size_t>(c)];
      if (!x.is_number()) bad(fmt::format("{}[{}]", row_field, c), fmt::format("must be a number, got {}", json_type(x)));
      const float f = static_cast<float>(x.get<double>());
      check_finite(f, field, r, c);
      m.data.push_back(f);
    }
  }
  return m;
}

FeatureMatrix from_base64(const json& value, const std::string& field, std::int64_t width, std::int64_t max_frames,
                          bool allow_empty) {
  for (const auto& item : value.items()) {
    if (item.key() != "base64" && item.key() != "dtype" && item.key() != "shape") {
      bad(field + "." + item.key(), "unknown key (expected base64, dtype and shape)");
    }
  }
  if (!value.contains("base64") || !value["base64"].is_string()) bad(field + ".base64", "a base64 string is required");
  if (!value.contains("shape") || !value["shape"].is_array()) {
    bad(field + ".shape", "the shape [frames, width] is required with base64 data");
  }
  const json& shape = value["shape"];
  if (shape.size() != 2 || !shape[0].is_number_integer() || !shape[1].is_number_integer() ||
      shape[0].get<std::int64_t>() < 0 || shape[1].get<std::int64_t>() < 0) {
    bad(field + ".shape", fmt::format("must be [frames, width] with two non-negative integers, got {}", shape.dump()));
  }
  const std::int64_t rows = shape[0].get<std::int64_t>(), cols = shape[1].get<std::int64_t>();
  std::string dtype = "float32";
  if (value.contains("dtype")) {
    if (!value["dtype"].is_string()) bad(field + ".dtype", "must be \"float32\" or \"float16\"");
    dtype = value["dtype"].get<std::string>();
  }
  if (dtype != "float32" && dtype != "float16") {
    bad(field + ".dtype", fmt::format("must be \"float32\" or \"float16\", got \"{}\"", dtype));
  }
  check_frames(rows, cols, field, width, max_frames, allow_empty);
  const std::string bytes = decode_base64(value["base64"].get_ref<const std::string&>(), field + ".base64");
  const std::size_t item = dtype == "float32" ? 4 : 2;
  const auto expected = static_cast<std::size_t>(rows * cols) * item;  // rows, cols bounded above
  if (bytes.size() != expected) {
    bad(field + ".base64", fmt::format("holds {} bytes, but shape {} of {} needs {}", bytes.size(), shape.dump(),
                                       dtype, expected));
  }
  FeatureMatrix m;
  m.cols = width;
  if (rows == 0) return m;
  m.rows = rows;
  m.data.resize(static_cast<std::size_t>(rows * cols));
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  for (std::size_t i = 0; i < m.data.size(); ++i) {
    float f;
    if (item == 4) {
      const std::uint32_t u = static_cast<std::uint32_t>(p[4 * i]) | (static_cast<std::uint32_t>(p[4 * i + 1]) << 8) |
                              (static_cast<std::uint32_t>(p[4 * i + 2]) << 16) |
                              (static_cast<std::uint32_t>(p[4 * i + 3]) << 24);
      std::memcpy(&f, &u, sizeof f);
    } else {
      f = half_to_float(static_cast<std::uint16_t>(p[2 * i] | (p[2 * i + 1] << 8)));
    }
    check_finite(f, field, static_cast<std::int64_t>(i) / cols, static_cast<std::int64_t>(i) % cols);
    m.data[i] = f;
  }
  return m;
}

std::string string_field(const json& video, const char* key, const std::string& prefix) {
  const std::string field = prefix + key;
  if (!video.contains(key)) bad(field, "is required");
  const json& v = video[key];
  if (v.is_string()) return v.get<std::string>();
  if (std::string(key) == "video_id" && v.is_number_integer()) return v.dump();
  bad(field, fmt::format("must be a string, got {}", json_type(v)));
}

VideoInput parse_video(const json& video, const std::string& prefix, const RequestLimits& limits) {
  const std::string where = prefix.empty() ? "the body" : prefix.substr(0, prefix.size() - 1);
  if (!video.is_object()) bad(where, fmt::format("a video must be a JSON object, got {}", json_type(video)));
  for (const auto& item : video.items()) {
    const std::string& k = item.key();
    if (k != "video_id" && k != "title" && k != "image" && k != "audio" && k != "threshold" && k != "top_k" &&
        k != "videos") {
      bad(prefix + k, "unknown key (a video has video_id, title, image and audio)");
    }
  }
  VideoInput v;
  v.video_id = string_field(video, "video_id", prefix);
  if (v.video_id.empty()) bad(prefix + "video_id", "must not be empty");
  v.title = string_field(video, "title", prefix);
  check_title(v.title, prefix + "title", limits);
  if (!video.contains("image")) bad(prefix + "image", "is required");
  if (!video.contains("audio")) bad(prefix + "audio", "is required");
  v.image = parse_feature_matrix_json(video["image"], prefix + "image", limits.rgb_dim, limits.max_frames, false);
  v.audio = parse_feature_matrix_json(video["audio"], prefix + "audio", limits.audio_dim, limits.max_frames, true);
  if (v.audio.rows == 0) {
    v.audio.rows = kEmptyAudioRows;
    v.audio.cols = limits.audio_dim;
    v.audio.data.assign(static_cast<std::size_t>(kEmptyAudioRows * limits.audio_dim), 0.0f);
  }
  return v;
}

void parse_settings(const json& body, TagRequest& request) {
  if (body.contains("threshold")) {
    const json& t = body["threshold"];
    if (!t.is_number()) bad("threshold", fmt::format("must be a number in [0, 1], got {}", json_type(t)));
    const double v = t.get<double>();
    if (!(v >= 0.0 && v <= 1.0)) bad("threshold", fmt::format("must be a number in [0, 1], got {}", t.dump()));
    request.threshold = v;
  }
  if (body.contains("top_k")) {
    const json& k = body["top_k"];
    if (!k.is_number_integer()) bad("top_k", fmt::format("must be a non-negative integer, got {}", k.dump()));
    request.top_k = parse_top_k(std::to_string(k.get<std::int64_t>()), "top_k");
  }
}

constexpr int kInvalid = -1;
constexpr int kPad = -2;
int base64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  if (c == '=') return kPad;
  return kInvalid;
}

}  // namespace

FeatureMatrix parse_feature_matrix_json(const json& value, const std::string& field, std::int64_t width,
                                        std::int64_t max_frames, bool allow_empty) {
  if (value.is_array()) return from_nested(value, field, width, max_frames, allow_empty);
  if (value.is_object()) return from_base64(value, field, width, max_frames, allow_empty);
  bad(field, fmt::format("must be an array of frames or {{\"base64\", \"dtype\", \"shape\"}}, got {}", json_type(value)));
}

TagRequest parse_tag_request(std::string_view body, const RequestLimits& limits) {
  json doc;
  try {
    doc = json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    // e.what() reads "[json.exception.parse_error.101] parse error at line 1, column 7: ..."
    std::string what = e.what();
    const auto at = what.find("] ");
    bad("body", "malformed JSON: " + (at == std::string::npos ? what : what.substr(at + 2)));
  }
  TagRequest request;
  const json* list = nullptr;
  std::string prefix;
  if (doc.is_array()) {
    list = &doc;
  } else if (doc.is_object() && doc.contains("videos")) {
    for (const auto& item : doc.items()) {
      if (item.key() != "videos" && item.key() != "threshold" && item.key() != "top_k") {
        bad(item.key(), "unknown key (a list request has videos, threshold and top_k)");
      }
    }
    list = &doc["videos"];
    if (!list->is_array()) bad("videos", fmt::format("must be an array of videos, got {}", json_type(*list)));
    prefix = "videos";
    parse_settings(doc, request);
  } else if (doc.is_object()) {
    request.single = true;
    parse_settings(doc, request);
    request.videos.push_back(parse_video(doc, "", limits));
    return request;
  } else {
    bad("body", fmt::format("must be a video object, an array of videos or {{\"videos\": [...]}}, got {}", json_type(doc)));
  }
  if (list->empty()) bad(prefix.empty() ? "body" : prefix, "holds no video");
  if (list->size() > limits.max_videos) {
    bad(prefix.empty() ? "body" : prefix,
        fmt::format("holds {} videos, more than the limit of {} per request", list->size(), limits.max_videos));
  }
  request.videos.reserve(list->size());
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& v = (*list)[i];
    if (v.is_object() && (v.contains("threshold") || v.contains("top_k") || v.contains("videos"))) {
      bad(fmt::format("{}[{}]", prefix, i), "threshold and top_k belong to the request, not to one video");
    }
    request.videos.push_back(parse_video(v, fmt::format("{}[{}].", prefix, i), limits));
  }
  return request;
}

void check_title(const std::string& title, const std::string& field, const RequestLimits& limits) {
  if (title.find_first_not_of(" \t\r\n") == std::string::npos) bad(field, "must not be empty (the model reads the title)");
  if (title.size() > limits.max_title_bytes) {
    bad(field, fmt::format("is {} bytes, more than the limit of {}", title.size(), limits.max_title_bytes));
  }
}

void check_frame_count(std::int64_t frames, std::int64_t max_frames, const std::string& field) {
  if (frames > max_frames) bad(field, fmt::format("{} frames is more than the limit of {} (--max-frames)", frames, max_frames));
}

double parse_threshold(std::string_view text, const std::string& field) {
  double v = 0;
  const std::string s(text);
  std::size_t used = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != s.size() || !(v >= 0.0 && v <= 1.0)) {
    bad(field, fmt::format("must be a number in [0, 1], got '{}'", s));
  }
  return v;
}

int parse_top_k(std::string_view text, const std::string& field) {
  int v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 0) {
    bad(field, fmt::format("must be a non-negative integer, got '{}'", std::string(text)));
  }
  return v;
}

std::string decode_base64(std::string_view text, const std::string& field) {
  std::size_t n = text.size();
  while (n > 0 && text[n - 1] == '=' && text.size() - n < 2) --n;
  if (n % 4 == 1) bad(field, fmt::format("is not base64: {} characters cannot be a whole number of bytes", text.size()));
  std::string out;
  out.reserve(n / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const int v = base64_value(static_cast<unsigned char>(text[i]));
    if (v < 0) {
      bad(field, fmt::format("is not base64: character {} ({}) is outside the alphabet", i,
                             std::isprint(static_cast<unsigned char>(text[i])) ? fmt::format("'{}'", text[i])
                                                                                : fmt::format("byte {}", static_cast<int>(static_cast<unsigned char>(text[i])))));
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

std::string encode_base64(std::string_view bytes) {
  static const char* const kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                            static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const std::uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

}  // namespace mvtag
