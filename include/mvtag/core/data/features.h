// One video's features as the original's .pkl files hold them (docs/FORMATS.md): per-frame image
// features record['feature']['image_pkl'] [T, 2048], audio features record['feature']['audio_pkl']
// [Ta, 128] and the id record['video'].
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mvtag/core/formats/pickle.h"

namespace mvtag {

// Row-major float32 [rows, cols].
struct FeatureMatrix {
  std::int64_t rows = 0, cols = 0;
  std::vector<float> data;
};

struct VideoFeatures {
  std::string video_id;
  FeatureMatrix rgb;
  FeatureMatrix audio;
  bool audio_was_empty = false;  // the file had no audio frames; `audio` holds the 10 zero rows
};

// Rows of zeros that stand in for empty audio, as in the original.
constexpr std::int64_t kEmptyAudioRows = 10;
// The VGGish width, used for empty audio stored as shape [0] when no width is asked for.
constexpr std::int64_t kDefaultAudioDim = 128;

// Reads a feature file. Any numeric dtype becomes float32. rgb must be [T >= 1, rgb_dim];
// audio [Ta, audio_dim], where Ta == 0 (shape [0, W] or [0]) gives kEmptyAudioRows zero rows of
// audio_dim. A dim <= 0 accepts any width. The id may be a str, bytes or a number.
// Missing keys, wrong types, ranks or widths, and NaN/Inf values throw Error(Data) naming the file
// and the key ('feature.image_pkl', 'feature.audio_pkl', 'video').
VideoFeatures load_video_features(const std::string& path, std::int64_t rgb_dim, std::int64_t audio_dim);

// The same, from an already decoded record; `source` names it in errors.
VideoFeatures video_features_from_record(const PickleValue& record, const std::string& source,
                                         std::int64_t rgb_dim, std::int64_t audio_dim);

// The feature file of a list-file entry: filelist_dir joined with video_key(url) (list_file.h:
// the url's last '/'-component up to its first '.') plus ".pkl" (the original's
// scenario_lib/datareader/feature_reader.py).
std::string feature_path_for(const std::string& filelist_dir, const std::string& url);

// The feature record as a pickle, protocol 2, laid out as Python 2 + numpy 1.x wrote the
// original files: {'video': id, 'feature': {'image_pkl': float32 array, 'audio_pkl': float32 array}}.
// Audio that was empty is written as shape [0, audio.cols], so reading it back gives the same record.
std::string pickle_video_features(const VideoFeatures& features);

// Writes pickle_video_features() to `path` atomically.
void write_video_features(const std::string& path, const VideoFeatures& features);

}  // namespace mvtag
