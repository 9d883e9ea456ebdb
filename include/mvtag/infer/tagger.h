// Tagger: an exported model (or a checkpoint) opened for tagging videos. It owns the network
// in eval mode on one device, the model's tokenizer and class names, and the inference settings
// (threshold and title length: --threshold > configuration > the model's inference.json >
// defaults, see core/config/inference_settings.h; precision: --precision > inference.json >
// fp32, applied with model/precision.h). `mvtag infer` tags list files with it; a
// server scores videos it assembled itself with score().
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "mvtag/core/config/config.h"
#include "mvtag/core/config/inference_settings.h"
#include "mvtag/core/data/dataset.h"
#include "mvtag/core/data/features.h"
#include "mvtag/model/model_dir.h"

namespace mvtag {

struct TaggerOptions {
  std::string model_dir = "inference_model";
  // The configuration in force, or nullptr. With one, the model is checked against it (network,
  // class list, vocabulary) and its INFER.threshold / MODEL.text_max_len apply.
  const Config* config = nullptr;
  torch::Device device = torch::kCPU;
  std::optional<double> threshold;  // an explicit override (the --threshold flag)
  // An explicit precision (the --precision flag); else the model's inference.json, else fp32.
  // int8 with a non-CPU device is an Error(Usage) before the model is loaded.
  std::optional<Precision> precision;
  std::size_t batch_size = 64;      // for tag_list(): INFER.batch_size when a configuration is given
  int num_workers = 2;              // loader threads for tag_list(): TRAIN.num_workers likewise
};

// Probabilities of one video: num_classes() floats in class order. Valid during the call only.
using VideoScoresSink = std::function<void(const std::string& video_id, const float* probabilities)>;

struct TagListStats {
  std::size_t listed = 0;            // videos in the list file
  std::size_t tagged = 0;            // videos given to the sink
  std::size_t missing_features = 0;  // listed without a feature file (named in the log)
  std::size_t unreadable = 0;        // feature file present but not readable (named in the log)
  double seconds = 0;
};

class Tagger {
 public:
  // Loads the model, checks it against the configuration and resolves the settings (one info
  // line says which threshold and title length apply, and where they came from). Errors name
  // the directory, file or key at fault.
  explicit Tagger(const TaggerOptions& options);

  const LoadedModel& model() const { return model_; }
  const ResolvedInferenceSettings& settings() const { return settings_; }
  double threshold() const { return settings_.values.threshold; }
  Precision precision() const { return settings_.values.precision; }
  std::size_t text_max_len() const { return static_cast<std::size_t>(settings_.values.text_max_len); }
  std::vector<std::string> class_names() const { return model_.classes.names(); }
  int num_classes() const { return static_cast<int>(model_.net->config().num_classes); }
  std::int64_t rgb_dim() const { return model_.net->config().rgb_dim; }
  std::int64_t audio_dim() const { return model_.net->config().audio_dim; }

  // A sample from in-memory data (the title is tokenized with the model's vocabulary and
  // text_max_len). Error(Data) naming `video_id` when a feature width is not the model's.
  Sample make_sample(const std::string& video_id, const std::string& title, FeatureMatrix rgb,
                     FeatureMatrix audio) const;
  // Probabilities [samples.size()][num_classes()], in the order given, as one forward pass.
  std::vector<std::vector<float>> score(std::vector<Sample> samples) const;

  // Tags every video of a list file, calling `sink` in list order; videos without (readable)
  // features are skipped, named in the log and counted. `data` defaults to the configuration's
  // INFER section (Error(Usage) when there is no configuration).
  TagListStats tag_list(const VideoScoresSink& sink, std::optional<DatasetOptions> data = std::nullopt) const;
  // The INFER list of the configuration, sized for this model.
  DatasetOptions infer_data() const;

 private:
  TaggerOptions options_;
  ResolvedInferenceSettings settings_;  // before model_: the precision is checked before loading
  LoadedModel model_;
};

}  // namespace mvtag
