#include "mvtag/infer/evaluator.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "mvtag/batch/loader.h"
#include "mvtag/core/base/error.h"
#include "mvtag/infer/export.h"
#include "mvtag/infer/model_check.h"
#include "mvtag/model/precision.h"

namespace mvtag {

nlohmann::json Evaluation::to_json(const std::vector<std::string>& class_names) const {
  nlohmann::json j = mvtag::to_json(result.metrics, class_names);
  j["loss"] = result.loss;
  j["loss_original"] = result.loss_original;
  j["model"] = model_dir;
  j["data"] = list_file;
  j["precision"] = to_string(precision);
  j["skipped"] = result.stats.skipped;
  j["missing_features"] = data.missing_features;
  return j;
}

namespace {
Precision checked_precision(const std::string& model_dir, const torch::Device& device,
                            std::optional<Precision> flag) {
  const auto r = resolve_inference_settings(nullptr, model_dir, std::nullopt, flag);
  check_precision_device(r.values.precision, device, r.precision_from);
  if (r.values.precision != Precision::Fp32) {
    spdlog::info("precision {} (from {})", to_string(r.values.precision), r.precision_from);
  }
  return r.values.precision;
}
}  // namespace

Evaluator::Evaluator(const Config& config, const std::string& model_dir, const torch::Device& device,
                     std::optional<Precision> precision)
    : config_(config),
      device_(device),
      precision_(checked_precision(model_dir, device, precision)),
      model_(load_model_directory(model_dir, device)) {
  check_model_against_config(config_, model_);
}

Evaluation Evaluator::evaluate(std::optional<DatasetOptions> data_options) const {
  DatasetOptions d = data_options ? *data_options : dataset_options_for(config_, "VALID");
  if (!data_options) {
    d.rgb_dim = model_.net->config().rgb_dim;
    d.audio_dim = model_.net->config().audio_dim;
  }
  const Dataset data(d, model_.classes, model_.tokenizer);
  spdlog::info("evaluation data: {}", data.report().summary());
  if (data.size() == 0) throw_error(ErrorKind::Data, "no usable videos to evaluate", at_file(d.list_file));
  LoaderOptions lo;
  lo.batch_size = static_cast<std::size_t>(config_.valid.batch_size);
  lo.num_workers = config_.train.num_workers;
  lo.bucketing = Bucketing::Title;  // metrics and loss come out as without it (predictor.h)
  Loader loader(data, lo, model_.tokenizer.vocab().pad_id());
  MetricsOptions mo;
  mo.hit_ks = config_.model.top_n;
  mo.threshold = static_cast<float>(config_.infer.threshold);
  apply_precision(*model_.net.ptr(), precision_, device_);
  Evaluation e;
  e.result = mvtag::evaluate(*model_.net.ptr(), loader, device_, mo, "eval");
  e.data = data.report();
  e.list_file = d.list_file;
  e.model_dir = model_.dir;
  e.precision = precision_;
  return e;
}

void Evaluator::export_to(const std::string& out_dir) const {
  export_model(model_, out_dir, {config_.model.text_max_len, config_.infer.threshold, precision_});
  spdlog::info("inference model written to {}", out_dir);
}

}  // namespace mvtag
