// mvtag import-paddle: parse, call import_paddle_model, print.
#include <iostream>
#include <memory>

#include "commands.h"
#include "config_options.h"
#include "mvtag/infer/import.h"

namespace mvtag::cli {

Command add_import_paddle_command(CLI::App& root) {
  auto* sub = root.add_subcommand(
      "import-paddle",
      "Turn the original PaddleVideo model into an mvtag model directory. Reads the combined\n"
      "parameter file of a training checkpoint (checkpoints_save/param), of an inference model\n"
      "(DIR/params) or the file itself. It stores no names: they are rebuilt from the configuration\n"
      "(MODEL sizes, lstm_pool_mode) and the ERNIE config, and each tensor's dims are checked as it\n"
      "is read, so use the conf.txt the model was trained with. Writes model.safetensors, model.json,\n"
      "vocab.txt (the ERNIE directory's) and class.txt (MODEL.class_name_file) into --output.\n"
      "Example:\n"
      "  mvtag import-paddle --checkpoint checkpoints_save --conf conf/conf.txt --output imported\n"
      "  mvtag infer --model imported --conf conf/conf.txt");
  auto options = std::make_shared<ConfigOptions>(*sub);
  auto args = std::make_shared<PaddleImportOptions>();
  sub->add_option("--checkpoint", args->checkpoint, "Directory holding 'param' or 'params', or the combined file")
      ->type_name("DIR_OR_FILE")
      ->required()
      ->group("Run");
  sub->add_option("--output,-o", args->output, "Model directory to write (replaced if it exists)")
      ->type_name("DIR")
      ->required()
      ->group("Run");
  sub->add_option("--ernie-config", args->ernie_config,
                  "ERNIE config (ernie_config.json or config.json); default: the one in TRAIN.ernie_pretrain_dict_path")
      ->type_name("FILE")
      ->group("Run");
  sub->add_option("--vocab", args->vocab, "ERNIE vocabulary; default: vocab.txt in TRAIN.ernie_pretrain_dict_path")
      ->type_name("FILE")
      ->group("Run");
  return {sub, [options, args]() -> int {
            const Config cfg = options->load();
            if (options->dump_requested()) return print_config(cfg);
            const PaddleImportResult r = import_paddle_model(cfg, *args);
            std::cout << "imported " << r.params_file << " (" << r.tensors << " tensors, lstm_pool_mode "
                      << r.lstm_pool_mode << ") into " << args->output << "\n";
            return 0;
          }};
}

}  // namespace mvtag::cli
