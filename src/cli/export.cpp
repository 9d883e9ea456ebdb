// mvtag export: parse, open the model with the configuration, write the inference model.
#include <iostream>
#include <memory>

#include "commands.h"
#include "mvtag/core/base/io.h"
#include "config_options.h"
#include "model_options.h"
#include "precision_option.h"
#include "mvtag/core/base/error.h"
#include "mvtag/infer/evaluator.h"

namespace mvtag::cli {

Command add_export_command(CLI::App& root) {
  auto* sub = root.add_subcommand(
      "export",
      "Write a self-contained inference model directory from a checkpoint: weights (no optimizer\n"
      "state), model.json, vocab.txt, class.txt and inference.json (MODEL.text_max_len and\n"
      "INFER.threshold from the configuration, and --precision). The weights are always float32.\n"
      "`mvtag infer --model DIR` needs nothing else.");
  auto options = std::make_shared<ConfigOptions>(*sub);
  auto model = std::make_shared<std::string>("checkpoints/best");
  auto output = std::make_shared<std::string>();
  auto precision = std::make_shared<std::string>();
  add_model_input_option(*sub, *model, "Checkpoint or model directory");
  add_model_output_option(*sub, *output, "Directory to write (required)", {"--save_inference_model"});
  add_precision_option(*sub, *precision, /*for_export=*/true);
  return {sub, [options, model, output, precision]() -> int {
            const auto stored = parse_precision_flag(*precision);
            const Config cfg = options->load();
            if (options->dump_requested()) return print_config(cfg);
            if (output->empty()) throw_error(ErrorKind::Usage, "export needs --output DIR");
            check_can_write(*output, "--output");
            Evaluator(cfg, *model, torch::kCPU, stored).export_to(*output);
            std::cout << "exported " << *model << " to " << *output << "\n";
            return 0;
          }};
}

}  // namespace mvtag::cli
