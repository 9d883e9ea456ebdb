#include <iostream>
#include <memory>

#include <spdlog/spdlog.h>

#include "commands.h"
#include "config_options.h"
#include "model_check.h"
#include "mvtag/core/base/error.h"
#include "mvtag/infer/export.h"
#include "mvtag/model/model_dir.h"

namespace mvtag::cli {

Command add_export_command(CLI::App& root) {
  auto* sub = root.add_subcommand(
      "export",
      "Write a self-contained inference model directory from a checkpoint: weights (no optimizer\n"
      "state), model.json, vocab.txt, class.txt and inference.json (MODEL.text_max_len and\n"
      "INFER.threshold from the configuration). `mvtag infer --model DIR` needs nothing else.");
  auto options = std::make_shared<ConfigOptions>(*sub, ConfigFlags{{}, false});
  auto model = std::make_shared<std::string>("checkpoints/best");
  auto output = std::make_shared<std::string>();
  sub->add_option("--model", *model, "Checkpoint or model directory")->type_name("DIR")->capture_default_str()->group("Run");
  sub->add_option("--output,-o,--save_inference_model", *output, "Directory to write (required)")
      ->type_name("DIR")
      ->group("Run");
  return {sub, [options, model, output]() -> int {
            const Config cfg = options->load();
            if (options->dump_requested()) return print_config(cfg);
            if (output->empty()) throw_error(ErrorKind::Usage, "export needs --output DIR");
            const LoadedModel m = load_model_directory(*model, torch::kCPU);
            check_model_against_config(cfg, m);
            export_model(m, *output, {cfg.model.text_max_len, cfg.infer.threshold});
            std::cout << "exported " << *model << " to " << *output << "\n";
            return 0;
          }};
}

}  // namespace mvtag::cli
