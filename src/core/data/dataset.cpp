#include "mvtag/core/data/dataset.h"

#include <algorithm>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"

namespace mvtag {

std::string DatasetReport::summary() const {
  std::string s = list.summary();
  if (missing_features > 0) {
    s += "; " + std::to_string(missing_features) + " skipped without a feature file (";
    const std::size_t shown = std::min<std::size_t>(missing_names.size(), 5);
    for (std::size_t i = 0; i < shown; ++i) s += (i ? ", " : "") + missing_names[i];
    if (missing_names.size() > shown) s += ", ...";
    s += ")";
  }
  if (unk_titles > 0) s += "; " + std::to_string(unk_titles) + " titles contain [UNK]";
  return s;
}

DatasetOptions dataset_options_for(const Config& cfg, const std::string& section) {
  DatasetOptions o;
  o.rgb_dim = cfg.model.rgb_dim();
  o.audio_dim = cfg.model.audio_dim();
  o.text_max_len = static_cast<std::size_t>(cfg.model.text_max_len);
  if (section == "TRAIN") {
    o.list_file = cfg.train.url_title_label_file;
    o.feature_dir = cfg.train.filelist;
  } else if (section == "VALID") {
    o.list_file = cfg.valid.url_title_label_file;
    o.feature_dir = cfg.valid.filelist;
  } else if (section == "INFER") {
    o.list_file = cfg.infer.url_title_label_file;
    o.feature_dir = cfg.infer.filelist;
    o.mode = ListMode::Infer;
  } else {
    throw_error(ErrorKind::Runtime, "no data set is described by section " + section);
  }
  return o;
}

Dataset::Dataset(const DatasetOptions& options, const ClassMap& classes, const Tokenizer& tokenizer)
    : options_(options), num_classes_(classes.num_classes()) {
  ListFile list = read_list_file(options.list_file, options.mode, classes);
  report_.list = list.report;
  const int unk = tokenizer.vocab().unk_id();
  if (is_feature_pack(options.feature_dir)) pack_ = FeaturePack::open(options.feature_dir);
  for (auto& item : list.items) {
    std::string path;
    if (pack_) {
      const std::string key = video_key(item.name);
      const std::int64_t at = pack_->find(key);
      if (at >= 0) {
        pack_index_.push_back(static_cast<std::size_t>(at));
        path = options.feature_dir + "[" + key + "]";
      }
    } else {
      path = feature_path_for(options.feature_dir, item.name);
      if (!path_exists(path)) path.clear();
    }
    if (path.empty()) {
      ++report_.missing_features;
      report_.missing_names.push_back(item.name);
      continue;
    }
    TextRecord text = tokenizer.encode(item.title, options.text_max_len);
    if (std::find(text.token_ids.begin(), text.token_ids.end(), unk) != text.token_ids.end()) {
      ++report_.unk_titles;
    }
    paths_.push_back(std::move(path));
    texts_.push_back(std::move(text));
    items_.push_back(std::move(item));
  }
}

Sample Dataset::load(std::size_t i) const {
  VideoFeatures f = pack_ ? pack_->load(pack_index_[i], options_.rgb_dim, options_.audio_dim)
                         : load_video_features(paths_[i], options_.rgb_dim, options_.audio_dim);
  Sample s;
  s.index = i;
  s.name = items_[i].name;
  s.video_id = std::move(f.video_id);
  s.rgb = std::move(f.rgb);
  s.audio = std::move(f.audio);
  s.text = texts_[i];
  s.labels = items_[i].labels;
  return s;
}

}  // namespace mvtag
