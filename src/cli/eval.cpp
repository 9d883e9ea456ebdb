#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "commands.h"
#include "config_options.h"
#include "device.h"
#include "model_check.h"
#include "mvtag/batch/loader.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/data/dataset.h"
#include "mvtag/infer/export.h"
#include "mvtag/infer/predictor.h"
#include "mvtag/model/model_dir.h"
#include "mvtag/runtime/runtime.h"

namespace mvtag::cli {

namespace {

struct EvalArgs {
  std::string model = "checkpoints/best";
  std::string json;
  std::string save_inference_model;
  bool save_only = false;
  std::string device;
};

void print_table(const EvalResult& r, const std::string& list) {
  const MetricsReport& m = r.metrics;
  std::cout << fmt::format("{:<14}{}\n", "data", list);
  std::cout << fmt::format("{:<14}{}\n", "videos", m.num_videos);
  if (r.stats.skipped) std::cout << fmt::format("{:<14}{}\n", "skipped", r.stats.skipped);
  std::cout << fmt::format("{:<14}{:.4f}   (per video; the original's printed loss: {:.4f})\n", "loss", r.loss,
                           r.loss_original);
  for (const auto& [k, v] : m.hit_at) std::cout << fmt::format("{:<14}{:.2f}\n", fmt::format("Hit@{}", k), v);
  std::cout << fmt::format("{:<14}{:.4f}\n", "PERR", m.perr);
  std::cout << fmt::format("{:<14}{:.4f}", fmt::format("GAP@{}", m.options.top_k), m.gap);
  if (m.gap_high - m.gap_low > 1e-12) std::cout << fmt::format("   (ties: {:.4f} .. {:.4f})", m.gap_low, m.gap_high);
  std::cout << "\n" << fmt::format("{:<14}{:.4f}\n", "mAP", m.map);
  std::cout << fmt::format("{:<14}P {:.4f}  R {:.4f}  F1 {:.4f}   (micro, threshold {})\n", "labels", m.micro.precision,
                           m.micro.recall, m.micro.f1, m.options.threshold);
}

}  // namespace

Command add_eval_command(CLI::App& root) {
  auto* sub = root.add_subcommand(
      "eval",
      "Evaluate a trained model on the VALID list: loss, Hit@k (top_n), PERR, GAP@20, mAP and\n"
      "per-class precision/recall/F1. With --save_inference_model also export it; --save_only skips\n"
      "the evaluation (as the original's eval_and_save_model.sh).");
  auto options = std::make_shared<ConfigOptions>(*sub, ConfigFlags{{"VALID"}, false});
  auto args = std::make_shared<EvalArgs>();
  sub->add_option("--model,--save_model_param_dir", args->model, "Checkpoint or model directory to evaluate")
      ->type_name("DIR")
      ->capture_default_str()
      ->group("Run");
  sub->add_option("--json", args->json, "Also write every number, per class included, as JSON ('-' = stdout)")
      ->type_name("FILE")
      ->group("Run");
  sub->add_option("--save_inference_model", args->save_inference_model,
                  "Export the model as an inference model directory (like `mvtag export`)")
      ->type_name("DIR")
      ->group("Run");
  sub->add_flag("--save_only", args->save_only, "Only export (needs --save_inference_model); no evaluation")
      ->group("Run");
  add_device_option(*sub, args->device);
  return {sub, [options, args]() -> int {
            const Config cfg = options->load();
            if (options->dump_requested()) return print_config(cfg);
            if (args->save_only && args->save_inference_model.empty()) {
              throw_error(ErrorKind::Usage, "--save_only needs --save_inference_model DIR");
            }
            const torch::Device device = resolve_device(cfg, args->device);
            if (device.is_cpu()) warn_if_cores_busy();
            LoadedModel model = load_model_directory(args->model, device);
            check_model_against_config(cfg, model);
            if (!args->save_inference_model.empty()) {
              export_model(model, args->save_inference_model, {cfg.model.text_max_len, cfg.infer.threshold});
              spdlog::info("inference model written to {}", args->save_inference_model);
              if (args->save_only) {
                std::cout << "save model only, exit\n";
                return 0;
              }
            }
            DatasetOptions d = dataset_options_for(cfg, "VALID");
            d.rgb_dim = model.net->config().rgb_dim;
            d.audio_dim = model.net->config().audio_dim;
            const Dataset data(d, model.classes, model.tokenizer);
            spdlog::info("evaluation data: {}", data.report().summary());
            if (data.size() == 0) throw_error(ErrorKind::Data, "no usable videos to evaluate", at_file(d.list_file));
            LoaderOptions lo;
            lo.batch_size = static_cast<std::size_t>(cfg.valid.batch_size);
            lo.num_workers = cfg.train.num_workers;
            Loader loader(data, lo, model.tokenizer.vocab().pad_id());
            MetricsOptions mo;
            mo.hit_ks = cfg.model.top_n;
            mo.threshold = static_cast<float>(cfg.infer.threshold);
            const EvalResult r = evaluate(*model.net, loader, device, mo, "eval");
            print_table(r, d.list_file);
            if (!args->json.empty()) {
              nlohmann::json j = to_json(r.metrics, model.classes.names());
              j["loss"] = r.loss;
              j["loss_original"] = r.loss_original;
              j["model"] = args->model;
              j["data"] = d.list_file;
              j["skipped"] = r.stats.skipped;
              j["missing_features"] = data.report().missing_features;
              write_file_atomic(args->json, j.dump(2) + "\n");
            }
            return 0;
          }};
}

}  // namespace mvtag::cli
