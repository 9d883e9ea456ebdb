// The body of a tagging request (POST /v1/tag, docs/SERVE.md), parsed and checked without
// LibTorch: one video object, a JSON array of them, or {"videos": [...]} with optional
// "threshold" and "top_k". Each video has "video_id", "title", "image" and "audio"; a feature
// matrix is either nested arrays [[...], ...] or {"base64": ..., "dtype": "float32"|"float16",
// "shape": [frames, width]} (little-endian).
//
// Everything wrong with a body is an Error(Data) whose location key names the field, e.g.
// "videos[2].image" or "videos[0].audio[3][7]": the server answers it with a 4xx.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "mvtag/core/data/features.h"

namespace mvtag {

struct RequestLimits {
  std::int64_t rgb_dim = 2048;    // the model's widths; a feature of another width is refused
  std::int64_t audio_dim = 128;
  std::int64_t max_frames = 1000;  // per video and modality
  std::size_t max_videos = 256;    // per request
  std::size_t max_title_bytes = 4096;
};

struct VideoInput {
  std::string video_id;
  std::string title;
  FeatureMatrix image;
  FeatureMatrix audio;  // empty audio (0 frames) becomes kEmptyAudioRows zero rows, as in .pkl files
};

struct TagRequest {
  std::vector<VideoInput> videos;
  bool single = false;  // the body was one video object: answer with one object, not an array
  std::optional<double> threshold;
  std::optional<int> top_k;
};

// Parses a JSON body. Error(Data) names the field at fault (Location::key).
TagRequest parse_tag_request(std::string_view body, const RequestLimits& limits);

// A feature matrix from a JSON value (nested arrays or the base64 object); `field` names it in
// errors. Rows beyond max_frames, a width other than `width`, and NaN or infinite values are errors.
// `allow_empty`: zero frames give an empty matrix instead of an error.
FeatureMatrix parse_feature_matrix_json(const nlohmann::json& value, const std::string& field, std::int64_t width,
                                        std::int64_t max_frames, bool allow_empty);

// The checks every video gets, whatever the body it came in (JSON here, a .pkl file in the
// server): a title that is not blank and within max_title_bytes; at most max_frames frames.
// Error(Data) naming `field`.
void check_title(const std::string& title, const std::string& field, const RequestLimits& limits);
void check_frame_count(std::int64_t frames, std::int64_t max_frames, const std::string& field);

// Optional query-string or body settings: threshold in [0, 1], top_k >= 0.
double parse_threshold(std::string_view text, const std::string& field);
int parse_top_k(std::string_view text, const std::string& field);

// RFC 4648 base64 (with or without padding; whitespace is not allowed). Error(Data) naming
// `field` on a character outside the alphabet or a bad length.
std::string decode_base64(std::string_view text, const std::string& field);
std::string encode_base64(std::string_view bytes);

}  // namespace mvtag
