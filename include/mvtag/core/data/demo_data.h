// The embedded demo: a synthetic data set in the original's on-disk format (list files with
// Chinese titles, class.txt, .pkl feature files) with learnable multi-label structure in all
// three modalities, plus the vocabulary and encoder config of a tiny ERNIE that covers the titles.
// Deterministic for a seed, on every platform.
//
//   <dir>/class.txt  train.txt  val.txt  feature_files/<key>.pkl
//   <dir>/ernie/vocab.txt  ernie/ernie_config.json     (weights are added by `mvtag demo-data`)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mvtag/core/config/ernie_config.h"

namespace mvtag {

struct DemoOptions {
  std::uint64_t seed = 7;
  int train_videos = 960;
  int val_videos = 240;
  int rgb_dim = 2048;
  int audio_dim = 128;
  int min_frames = 4;
  int max_frames = 12;
  // Standard deviation of the per-frame noise around the class prototypes; larger = harder.
  double rgb_noise = 1.5;
  double audio_noise = 1.5;
  // Share of frames that show a random class instead of one of the video's labels.
  double distractor_rate = 0.3;
  // Chance that a label does not show in the image (and, independently, the audio) features.
  double hidden_label_rate = 0.25;
  // Chance that a title names each of its video's labels (the rest are filler characters).
  double title_keyword_rate = 0.45;
};

struct DemoSummary {
  int classes = 0;
  int train_videos = 0;
  int val_videos = 0;
  int empty_audio = 0;  // videos written with no audio frames (the loader substitutes zeros)
  int vocab_size = 0;
  double mean_labels = 0;
  ErnieConfig ernie;
};

// Writes the data set into `dir` (created if needed; existing demo files are replaced).
DemoSummary write_demo_data(const std::string& dir, const DemoOptions& options = {});

// The tiny encoder the demo uses (hidden 64, 2 layers, 4 heads) for a vocabulary of `vocab_size`.
ErnieConfig demo_ernie_config(int vocab_size);

}  // namespace mvtag
