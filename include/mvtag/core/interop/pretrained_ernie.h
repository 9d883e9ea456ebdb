// The pretrained ERNIE encoder a training run starts from (TRAIN.ernie_pretrain_dict_path).
// The directory's kind is detected from its files, in this order (docs/FORMATS.md):
//   mvtag        ernie.safetensors + ernie_config.json + vocab.txt  (written by mvtag)
//   paddle       one Paddle tensor file per parameter (word_embedding, encoder_layer_0_...) +
//                ernie_config.json + vocab.txt: the original's ERNIE 1.0 release
//   huggingface  model.safetensors or pytorch_model.bin (torch.save, zip or legacy format) +
//                config.json + vocab.txt; names with the prefix '', 'ernie.' or 'bert.'
//   none         a config and vocab.txt but no weights: random initialisation
// Weights come back as NDArrays under the names the encoder has inside the model
// ("ernie.word_embeddings.weight", ...), in LibTorch layout, float32, exactly the tensors the
// configuration implies: anything missing, unexpected (other than the known unused heads) or
// mis-shaped is an error listing every such tensor by name. The kind is logged.
#pragma once

#include <string>
#include <vector>

#include "mvtag/core/config/ernie_config.h"
#include "mvtag/core/formats/safetensors.h"
#include "mvtag/core/text/vocab.h"

namespace mvtag {

// What a directory holds, found without reading its weights: its kind, its config, its vocabulary.
struct ErnieDirectory {
  std::string dir;
  std::string format;  // "mvtag", "paddle", "huggingface", or "none" when there are no weights
  std::string source;  // the weights file or directory ("" for "none")
  ErnieConfig config;
  std::string config_path;  // ernie_config.json, or config.json (preferred for HuggingFace)
  std::string vocab_path;   // "" when absent (only possible with need_vocab = false)
};

// Detects the kind (logged, with the probes in order) and reads the config. Throws Error(Io)
// naming the directory when it, the config or (with need_vocab) vocab.txt is missing.
ErnieDirectory detect_ernie_directory(const std::string& dir, bool need_vocab = true);

// Error(Model) naming the vocabulary when its ids do not all have an embedding row.
void check_vocab_fits(const Vocab& vocab, const ErnieConfig& config, const std::string& vocab_path);

struct PretrainedErnie : ErnieDirectory {
  SafetensorsFile weights;           // empty when format == "none"
  std::vector<std::string> unused;   // tensors or files present but not part of the encoder
};

// Throws Error naming the directory and what is missing when it is not a usable ERNIE directory,
// Error(Model) listing the tensors by name when the weights do not fit the configuration.
PretrainedErnie read_pretrained_ernie(const std::string& dir);

// Writes mvtag's own kind of directory (ernie.safetensors + ernie_config.json + vocab.txt)
// atomically, so later runs read it without conversion. Error(Data) if `ernie` has no weights.
void write_ernie_directory(const PretrainedErnie& ernie, const std::string& out_dir);

}  // namespace mvtag
