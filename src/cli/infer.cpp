// mvtag infer: parse, open a Tagger, write what it scores.
#include <memory>

#include <spdlog/spdlog.h>

#include "commands.h"
#include "config_options.h"
#include "device.h"
#include "model_options.h"
#include "precision_option.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/report/prediction_writer.h"
#include "mvtag/infer/tagger.h"
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
  std::string precision;
};
}  // namespace

Command add_infer_command(CLI::App& root) {
  auto* sub = root.add_subcommand(
      "infer",
      "Tag the videos of the INFER list with an exported model. Writes the original's output.json:\n"
      "[{\"video_id\": ..., \"labels\": [[class, probability], ...]}, ...] with every class whose\n"
      "probability >= threshold, in class order. Videos without readable features are reported.");
  auto options = std::make_shared<ConfigOptions>(*sub);
  auto args = std::make_shared<InferArgs>();
  add_model_input_option(*sub, args->model, "Inference model directory (or a checkpoint)",
                         {"--save_inference_model"});
  sub->add_option("--output,-o", args->output, "Output file ('-' = stdout)")->type_name("FILE")->capture_default_str()->group("Run");
  sub->add_option("--format", args->format, "json (the original's) or jsonl (one video per line)")
      ->check(CLI::IsMember({"json", "jsonl"}))
      ->capture_default_str()
      ->group("Run");
  sub->add_option("--threshold", args->threshold,
                  "Report classes with probability >= this. Default: INFER.threshold of the configuration\n"
                  "(file or --set); the model's inference.json only applies without one (docs/CONFIG.md)")
      ->check(CLI::Range(0.0, 1.0))
      ->group("Run");
  sub->add_option("--top_k", args->top_k, "Keep only the K most probable reported classes, most probable first (0 = all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str()
      ->group("Run");
  add_device_option(*sub, args->device);
  add_precision_option(*sub, args->precision);
  return {sub, [options, args]() -> int {
            const auto precision = parse_precision_flag(args->precision);
            const Config cfg = options->load();
            if (options->dump_requested()) return print_config(cfg);
            check_can_write(args->output, "--output");  // before tagging, not after
            TaggerOptions t;
            t.precision = precision;
            t.model_dir = args->model;
            t.config = &cfg;
            t.device = resolve_device(cfg, args->device);
            if (args->threshold >= 0) t.threshold = args->threshold;
            if (t.device.is_cpu()) warn_if_cores_busy();
            const Tagger tagger(t);

            PredictionWriter writer(parse_prediction_format(args->format), tagger.class_names(),
                                    LabelSelection{tagger.threshold(), args->top_k});
            const TagListStats stats =
                tagger.tag_list([&](const std::string& id, const float* probs) { writer.add(id, probs); });
            if (writer.count() == 0) {
              throw_error(ErrorKind::Data, "no video could be tagged", at_file(tagger.infer_data().list_file));
            }
            write_file_atomic(args->output, writer.finish());
            spdlog::info("tagged {} videos (threshold {}) into {}{}", writer.count(), tagger.threshold(),
                         args->output == "-" ? "stdout" : args->output,
                         stats.missing_features + stats.unreadable
                             ? fmt::format("; {} without features, {} unreadable (named above)",
                                           stats.missing_features, stats.unreadable)
                             : "");
            return 0;
          }};
}

}  // namespace mvtag::cli
