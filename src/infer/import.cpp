#include "mvtag/infer/import.h"

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/config/net_config.h"
#include "mvtag/core/interop/paddle_import.h"
#include "mvtag/core/interop/pretrained_ernie.h"
#include "mvtag/model/model_dir.h"
#include "mvtag/model/weights.h"

namespace mvtag {

PaddleImportResult import_paddle_model(const Config& cfg, const PaddleImportOptions& options) {
  ErnieConfig ernie;
  std::string vocab_path = options.vocab;
  if (options.ernie_config.empty() || vocab_path.empty()) {
    const ErnieDirectory dir = detect_ernie_directory(cfg.train.ernie_pretrain_dict_path, options.vocab.empty());
    ernie = dir.config;
    if (vocab_path.empty()) vocab_path = dir.vocab_path;
  }
  if (!options.ernie_config.empty()) ernie = read_ernie_config(options.ernie_config);
  if (!path_exists(vocab_path)) throw_error(ErrorKind::Io, "the ERNIE vocabulary is missing", at_file(vocab_path));

  const NetConfig net_config = net_config_from(cfg, ernie);
  const Vocab vocab = Vocab::load(vocab_path);
  check_vocab_fits(vocab, net_config.ernie, vocab_path);
  const ClassMap classes = ClassMap::load(cfg.model.class_name_file, cfg.model.num_classes);

  PaddleImportResult result;
  result.params_file = find_paddle_params(options.checkpoint);
  SafetensorsFile weights;
  weights.tensors = import_paddle_params(result.params_file, net_config);
  VideoTagNet net(net_config);
  load_module_arrays(*net, weights, result.params_file);
  AtomicDirectory out(options.output);
  write_model_files(out.staging(), *net, vocab, classes);
  out.commit();
  result.tensors = weights.tensors.size();
  result.lstm_pool_mode = net_config.lstm_pool_mode;
  return result;
}

}  // namespace mvtag
