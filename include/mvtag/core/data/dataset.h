// A list file joined with its feature files and tokenized titles: the records the loader turns
// into batches. No LibTorch here; features are read on demand (per epoch), titles once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mvtag/core/config/config.h"
#include "mvtag/core/data/class_map.h"
#include "mvtag/core/data/feature_pack.h"
#include "mvtag/core/data/features.h"
#include "mvtag/core/data/list_file.h"
#include "mvtag/core/text/tokenizer.h"

namespace mvtag {

struct DatasetOptions {
  std::string list_file;    // url_title_label_file
  std::string feature_dir;  // filelist: a directory of .pkl files, or a feature pack (feature_pack.h)
  ListMode mode = ListMode::Labeled;
  std::int64_t rgb_dim = 2048;
  std::int64_t audio_dim = 128;
  std::size_t text_max_len = kDefaultMaxLen;
};

// The data set a configuration section describes: "TRAIN" and "VALID" (labelled) or "INFER".
DatasetOptions dataset_options_for(const Config& config, const std::string& section);

// One video, ready to batch.
struct Sample {
  std::size_t index = 0;  // position in the dataset
  std::string name;       // list-file name column
  std::string video_id;   // record['video'] from the feature file
  FeatureMatrix rgb;
  FeatureMatrix audio;
  TextRecord text;
  std::vector<int> labels;
};

struct DatasetReport {
  ListReport list;
  std::size_t missing_features = 0;        // listed videos without a feature file (skipped)
  std::vector<std::string> missing_names;  // their names (all of them)
  std::size_t unk_titles = 0;              // titles containing [UNK]
  // e.g. "val.txt: 464 videos (...); 3 without a feature file in ./datasets/feature_files/ (a, b, c)"
  std::string summary() const;
};

class Dataset {
 public:
  // Reads the list, drops (and reports) videos whose feature file is missing, tokenizes titles.
  Dataset(const DatasetOptions& options, const ClassMap& classes, const Tokenizer& tokenizer);

  std::size_t size() const { return items_.size(); }
  const VideoItem& item(std::size_t i) const { return items_[i]; }
  // Sample i's feature file, or "<pack>[<key>]" when reading a pack.
  const std::string& feature_path(std::size_t i) const { return paths_[i]; }
  // The pack the features come from, or nullptr for a directory of .pkl files.
  const FeaturePack* pack() const { return pack_.get(); }
  const TextRecord& text(std::size_t i) const { return texts_[i]; }
  const std::vector<TextRecord>& texts() const { return texts_; }
  const DatasetOptions& options() const { return options_; }
  const DatasetReport& report() const { return report_; }
  int num_classes() const { return num_classes_; }

  // Reads sample i's feature file. Throws Error(Data) naming the file on a bad file; safe to
  // call from several threads at once.
  Sample load(std::size_t i) const;

 private:
  DatasetOptions options_;
  int num_classes_;
  std::vector<VideoItem> items_;
  std::vector<std::string> paths_;
  std::shared_ptr<const FeaturePack> pack_;
  std::vector<std::size_t> pack_index_;  // per sample, its entry in pack_
  std::vector<TextRecord> texts_;
  DatasetReport report_;
};

}  // namespace mvtag
