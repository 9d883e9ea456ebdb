#include <iostream>
#include <memory>

#include <spdlog/spdlog.h>

#include "commands.h"
#include "config_options.h"
#include "device.h"
#include "model_check.h"
#include "mvtag/batch/loader.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/data/dataset.h"
#include "mvtag/core/report/prediction_writer.h"
#include "mvtag/infer/export.h"
#include "mvtag/infer/predictor.h"
#include "mvtag/model/model_dir.h"
#include "mvtag/runtime/runtime.h"

namespace mvtag::cli {

namespace {
struct InferArgs {
  std::string model = "inference_model";
  std::string output = "output.json";
  std::string format = "json";
  double threshold = -1;  // < 0: not given
  int top_k = 0;
  std::string device;
};
}  // namespace

Command add_infer_command(CLI::App& root) {
  auto* sub = root.add_subcommand(
      "infer",
      "Tag the videos of the INFER list with an exported model. Writes the original's output.json:\n"
      "[{\"video_id\": ..., \"labels\": [[class, probability], ...]}, ...] with every class whose\n"
      "probability >= threshold, in class order. Videos without readable features are reported.");
  auto options = std::make_shared<ConfigOptions>(*sub, ConfigFlags{{"INFER"}, false});
  auto args = std::make_shared<InferArgs>();
  sub->add_option("--model,--save_inference_model", args->model, "Inference model directory (or a checkpoint)")
      ->type_name("DIR")
      ->capture_default_str()
      ->group("Run");
  sub->add_option("--output,-o", args->output, "Output file ('-' = stdout)")->type_name("FILE")->capture_default_str()->group("Run");
  sub->add_option("--format", args->format, "json (the original's) or jsonl (one video per line)")
      ->check(CLI::IsMember({"json", "jsonl"}))
      ->capture_default_str()
      ->group("Run");
  sub->add_option("--threshold", args->threshold,
                  "Report classes with probability >= this. Default: INFER.threshold when the configuration\n"
                  "(file or --set) gives it, else the model's inference.json (docs/CONFIG.md)")
      ->check(CLI::Range(0.0, 1.0))
      ->group("Run");
  sub->add_option("--top_k", args->top_k, "Keep only the K most probable reported classes, most probable first (0 = all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str()
      ->group("Run");
  add_device_option(*sub, args->device);
  return {sub, [options, args]() -> int {
            const Config cfg = options->load();
            if (options->dump_requested()) return print_config(cfg);
            const torch::Device device = resolve_device(cfg, args->device);
            if (device.is_cpu()) warn_if_cores_busy();
            LoadedModel model = load_model_directory(args->model, device);
            check_model_against_config(cfg, model);
            const ResolvedInferenceSettings resolved = resolve_inference_settings(
                &cfg, args->model, args->threshold >= 0 ? std::optional<double>(args->threshold) : std::nullopt);
            const InferenceSettings& settings = resolved.values;
            spdlog::info("threshold {} (from {}), titles up to {} tokens (from {})", settings.threshold,
                         resolved.threshold_from, settings.text_max_len, resolved.text_max_len_from);
            if (settings.text_max_len > model.net->config().ernie.max_position_embeddings) {
              throw_error(ErrorKind::Config,
                          fmt::format("text_max_len {} (from {}) is more than the model's {} ERNIE positions",
                                      settings.text_max_len, resolved.text_max_len_from,
                                      model.net->config().ernie.max_position_embeddings));
            }

            DatasetOptions d = dataset_options_for(cfg, "INFER");
            d.rgb_dim = model.net->config().rgb_dim;
            d.audio_dim = model.net->config().audio_dim;
            d.text_max_len = static_cast<std::size_t>(settings.text_max_len);
            const Dataset data(d, model.classes, model.tokenizer);
            spdlog::info("inference data: {}", data.report().summary());
            for (const auto& name : data.report().missing_names) {
              spdlog::warn("no feature file for '{}' (expected {})", name, feature_path_for(d.feature_dir, name));
            }

            LabelSelection sel;
            sel.threshold = settings.threshold;
            sel.top_k = args->top_k;
            PredictionWriter writer(parse_prediction_format(args->format), model.classes.names(), sel);
            std::size_t skipped = 0;
            if (data.size() > 0) {
              LoaderOptions lo;
              lo.batch_size = static_cast<std::size_t>(cfg.infer.batch_size);
              lo.num_workers = cfg.train.num_workers;
              Loader loader(data, lo, model.tokenizer.vocab().pad_id());
              const PredictStats stats = predict(
                  *model.net, loader, device,
                  [&](const Batch& batch, const torch::Tensor&, const torch::Tensor& probs) {
                    const float* p = probs.data_ptr<float>();
                    for (std::int64_t i = 0; i < batch.size(); ++i) {
                      writer.add(batch.video_ids[static_cast<std::size_t>(i)], p + i * probs.size(1));
                    }
                  },
                  "infer");
              skipped = stats.skipped;
            }
            write_file_atomic(args->output, writer.finish());
            const std::size_t missing = data.report().missing_features;
            spdlog::info("tagged {} videos (threshold {}) into {}{}", writer.count(), sel.threshold,
                         args->output == "-" ? "stdout" : args->output,
                         missing + skipped ? fmt::format("; {} without features, {} unreadable (named above)", missing, skipped)
                                           : "");
            if (writer.count() == 0) {
              throw_error(ErrorKind::Data, "no video could be tagged", at_file(d.list_file));
            }
            return 0;
          }};
}

}  // namespace mvtag::cli
