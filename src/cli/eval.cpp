// mvtag eval: parse, open an Evaluator, print its table (and JSON), export on request.
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>

#include "commands.h"
#include "config_options.h"
#include "device.h"
#include "model_options.h"
#include "precision_option.h"
#include "mvtag/core/base/io.h"
#include "mvtag/infer/evaluator.h"
#include "mvtag/runtime/runtime.h"

namespace mvtag::cli {

namespace {

struct EvalArgs {
  std::string model = "checkpoints/best";
  std::string json;
  std::string output;  // export target ("" = no export)
  bool save_only = false;
  std::string device;
  std::string precision;
};

void print_table(const Evaluation& e) {
  const MetricsReport& m = e.result.metrics;
  std::cout << fmt::format("{:<14}{}\n", "data", e.list_file);
  std::cout << fmt::format("{:<14}{}\n", "videos", m.num_videos);
  if (e.precision != Precision::Fp32) std::cout << fmt::format("{:<14}{}\n", "precision", to_string(e.precision));
  if (e.result.stats.skipped) std::cout << fmt::format("{:<14}{}\n", "skipped", e.result.stats.skipped);
  std::cout << fmt::format("{:<14}{:.4f}   (per video; the original's printed loss: {:.4f})\n", "loss", e.result.loss,
                           e.result.loss_original);
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
      "per-class precision/recall/F1. With --output DIR also export it as an inference model;\n"
      "--save_only skips the evaluation (as the original's eval_and_save_model.sh).");
  auto options = std::make_shared<ConfigOptions>(*sub);
  auto args = std::make_shared<EvalArgs>();
  add_model_input_option(*sub, args->model, "Checkpoint or model directory to evaluate", {"--save_model_param_dir"});
  add_model_output_option(*sub, args->output, "Also export the model as an inference model directory (like `mvtag export`)",
                          {"--save_inference_model"});
  sub->add_option("--json", args->json, "Also write every number, per class included, as JSON ('-' = stdout)")
      ->type_name("FILE")
      ->group("Run");
  sub->add_flag("--save_only", args->save_only, "Only export (needs --output); no evaluation")->group("Run");
  add_device_option(*sub, args->device);
  add_precision_option(*sub, args->precision);
  return {sub, [options, args]() -> int {
            const auto precision = parse_precision_flag(args->precision);
            const Config cfg = options->load();
            if (options->dump_requested()) return print_config(cfg);
            if (args->save_only && args->output.empty()) {
              throw_error(ErrorKind::Usage, "--save_only needs --output DIR (or --save_inference_model DIR)");
            }
            check_can_write(args->output, "--output");  // before the work, not after it
            check_can_write(args->json, "--json");
            const torch::Device device = resolve_device(cfg, args->device);
            if (device.is_cpu()) warn_if_cores_busy();
            const Evaluator evaluator(cfg, args->model, device, precision);
            if (!args->output.empty()) {
              evaluator.export_to(args->output);
              if (args->save_only) {
                std::cout << "save model only, exit\n";
                return 0;
              }
            }
            const Evaluation e = evaluator.evaluate();
            print_table(e);
            if (!args->json.empty()) write_file_atomic(args->json, e.to_json(evaluator.model().classes.names()).dump(2) + "\n");
            return 0;
          }};
}

}  // namespace mvtag::cli
