#include "mvtag/infer/tagger.h"

#include <torch/torch.h>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "mvtag/batch/loader.h"
#include "mvtag/core/base/error.h"
#include "mvtag/infer/model_check.h"
#include "mvtag/infer/predictor.h"
#include "mvtag/model/precision.h"

namespace mvtag {

namespace {
void check_width(const FeatureMatrix& m, std::int64_t width, const char* what, const std::string& video_id) {
  if (m.rows < 1 || m.cols != width || m.data.size() != static_cast<std::size_t>(m.rows * m.cols)) {
    throw_error(ErrorKind::Data,
                fmt::format("video '{}': {} features must be [frames >= 1, {}], got [{}, {}] with {} values",
                            video_id, what, width, m.rows, m.cols, m.data.size()));
  }
}
LoadedModel load_at_precision(const std::string& dir, const torch::Device& device, Precision precision,
                              const std::string& from) {
  check_precision_device(precision, device, from);
  LoadedModel model = load_model_directory(dir, device);
  apply_precision(*model.net, precision, device);
  return model;
}
}  // namespace

Tagger::Tagger(const TaggerOptions& options)
    : options_(options),
      settings_(resolve_inference_settings(options.config, options.model_dir, options.threshold, options.precision)),
      model_(load_at_precision(options.model_dir, options.device, settings_.values.precision,
                               settings_.precision_from)) {
  if (options_.config != nullptr) {
    check_model_against_config(*options_.config, model_);
    options_.batch_size = static_cast<std::size_t>(options_.config->infer.batch_size);
    options_.num_workers = options_.config->train.num_workers;
  }
  spdlog::info("threshold {} (from {}), titles up to {} tokens (from {}), precision {} (from {})",
               settings_.values.threshold, settings_.threshold_from, settings_.values.text_max_len,
               settings_.text_max_len_from, to_string(settings_.values.precision), settings_.precision_from);
  const std::int64_t positions = model_.net->config().ernie.max_position_embeddings;
  if (settings_.values.text_max_len > positions) {
    throw_error(ErrorKind::Config, fmt::format("text_max_len {} (from {}) is more than the model's {} ERNIE positions",
                                               settings_.values.text_max_len, settings_.text_max_len_from, positions));
  }
}

Sample Tagger::make_sample(const std::string& video_id, const std::string& title, FeatureMatrix rgb,
                           FeatureMatrix audio) const {
  check_width(rgb, rgb_dim(), "image", video_id);
  check_width(audio, audio_dim(), "audio", video_id);
  Sample s;
  s.name = video_id;
  s.video_id = video_id;
  s.rgb = std::move(rgb);
  s.audio = std::move(audio);
  s.text = model_.tokenizer.encode(title, text_max_len());
  return s;
}

std::vector<std::vector<float>> Tagger::score(std::vector<Sample> samples) const {
  std::vector<std::vector<float>> out;
  if (samples.empty()) return out;
  for (std::size_t i = 0; i < samples.size(); ++i) samples[i].index = i;
  const Batch batch = collate(std::move(samples), num_classes(), model_.tokenizer.vocab().pad_id());
  torch::NoGradGuard no_grad;
  VideoTagNetImpl& net = *model_.net.ptr();  // the shared network; eval mode, no autograd
  const torch::Tensor probs = net.probabilities(net.forward(batch.input.to(options_.device)))
                                  .to(torch::kCPU, torch::kFloat32)
                                  .contiguous();
  const float* p = probs.data_ptr<float>();
  const auto n = static_cast<std::size_t>(probs.size(0)), c = static_cast<std::size_t>(probs.size(1));
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.emplace_back(p + i * c, p + (i + 1) * c);
  return out;
}

DatasetOptions Tagger::infer_data() const {
  if (options_.config == nullptr) {
    throw_error(ErrorKind::Usage, "tagging a list file needs a configuration (its INFER section names the list)");
  }
  DatasetOptions d = dataset_options_for(*options_.config, "INFER");
  d.rgb_dim = rgb_dim();
  d.audio_dim = audio_dim();
  d.text_max_len = text_max_len();
  return d;
}

TagListStats Tagger::tag_list(const VideoScoresSink& sink, std::optional<DatasetOptions> data_options) const {
  const DatasetOptions d = data_options ? *data_options : infer_data();
  const Dataset data(d, model_.classes, model_.tokenizer);
  spdlog::info("inference data: {}", data.report().summary());
  for (const auto& name : data.report().missing_names) {
    if (data.pack() != nullptr) {
      spdlog::warn("no features for '{}' (key '{}' is not in the pack {})", name, video_key(name), d.feature_dir);
    } else {
      spdlog::warn("no feature file for '{}' (expected {})", name, feature_path_for(d.feature_dir, name));
    }
  }
  TagListStats stats;
  stats.listed = data.size() + data.report().missing_features;
  stats.missing_features = data.report().missing_features;
  if (data.size() == 0) return stats;
  LoaderOptions lo;
  lo.batch_size = options_.batch_size;
  lo.num_workers = options_.num_workers;
  lo.bucketing = Bucketing::Title;  // results still come in list order (predictor.h)
  Loader loader(data, lo, model_.tokenizer.vocab().pad_id());
  const PredictStats predicted = predict(
      *model_.net.ptr(), loader, options_.device,
      [&](const Batch& batch, const torch::Tensor&, const torch::Tensor& probs) {
        const float* p = probs.data_ptr<float>();
        for (std::int64_t i = 0; i < batch.size(); ++i) {
          sink(batch.video_ids[static_cast<std::size_t>(i)], p + i * probs.size(1));
        }
      },
      "infer");
  stats.tagged = predicted.videos;
  stats.unreadable = predicted.skipped;
  stats.seconds = predicted.seconds;
  return stats;
}

}  // namespace mvtag
