#include <filesystem>
#include <iostream>
#include <memory>

#include <spdlog/spdlog.h>

#include "commands.h"
#include "config_options.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/config/net_config.h"
#include "mvtag/core/interop/paddle_import.h"
#include "mvtag/model/model_dir.h"
#include "mvtag/model/weights.h"

namespace mvtag::cli {

namespace fs = std::filesystem;

namespace {

struct ImportArgs {
  std::string checkpoint;
  std::string output;
  std::string ernie_config;  // "" = from TRAIN.ernie_pretrain_dict_path
  std::string vocab;         // "" = vocab.txt of TRAIN.ernie_pretrain_dict_path
};

ErnieConfig ernie_config_for(const Config& cfg, const ImportArgs& args) {
  if (!args.ernie_config.empty()) return read_ernie_config(args.ernie_config);
  const std::string& dir = cfg.train.ernie_pretrain_dict_path;
  for (const char* name : {"ernie_config.json", "config.json"}) {
    const std::string path = (fs::path(dir) / name).string();
    if (path_exists(path)) return read_ernie_config(path);
  }
  throw_error(ErrorKind::Config,
              "no ernie_config.json or config.json in TRAIN.ernie_pretrain_dict_path '" + dir +
                  "': the encoder's sizes are needed to name the checkpoint's tensors (or give --ernie-config FILE)",
              at_file(cfg.source));
}

Vocab vocab_for(const Config& cfg, const ImportArgs& args, const ErnieConfig& ernie) {
  const std::string path =
      args.vocab.empty() ? (fs::path(cfg.train.ernie_pretrain_dict_path) / "vocab.txt").string() : args.vocab;
  if (!path_exists(path)) {
    throw_error(ErrorKind::Io, "the ERNIE vocabulary is needed for the model directory: give --vocab FILE or set "
                               "TRAIN.ernie_pretrain_dict_path to the directory holding vocab.txt",
                at_file(path));
  }
  Vocab vocab = Vocab::load(path);
  if (vocab.max_id() >= ernie.vocab_size) {
    throw_error(ErrorKind::Model,
                "vocabulary ids go up to " + std::to_string(vocab.max_id()) + " but the encoder has " +
                    std::to_string(ernie.vocab_size) + " embedding rows",
                at_file(path));
  }
  return vocab;
}

}  // namespace

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
  auto options = std::make_shared<ConfigOptions>(*sub, ConfigFlags{{}, false});
  auto args = std::make_shared<ImportArgs>();
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
            const NetConfig net_config = net_config_from(cfg, ernie_config_for(cfg, *args));
            const Vocab vocab = vocab_for(cfg, *args, net_config.ernie);
            const ClassMap classes = ClassMap::load(cfg.model.class_name_file, cfg.model.num_classes);
            const std::string params = find_paddle_params(args->checkpoint);
            SafetensorsFile weights;
            weights.tensors = import_paddle_params(params, net_config);
            VideoTagNet net(net_config);
            load_module_arrays(*net, weights, params);
            AtomicDirectory out(args->output);
            write_model_files(out.staging(), *net, vocab, classes);
            out.commit();
            std::cout << "imported " << params << " (" << weights.tensors.size() << " tensors, lstm_pool_mode "
                      << net_config.lstm_pool_mode << ") into " << args->output << "\n";
            return 0;
          }};
}

}  // namespace mvtag::cli
