// The pretrained ERNIE encoder a training run starts from (TRAIN.ernie_pretrain_dict_path).
// The directory's kind is detected from its files:
//   mvtag      ernie_config.json + vocab.txt + ernie.safetensors  (written by mvtag)
//   config only ernie_config.json or config.json + vocab.txt, no weights: random initialisation
// Weights come back as NDArrays under the names the encoder has inside the model
// ("ernie.word_embeddings.weight", ...), in LibTorch layout.
#pragma once

#include <string>
#include <vector>

#include "mvtag/ernie_config.h"
#include "mvtag/safetensors.h"

namespace mvtag {

struct PretrainedErnie {
  std::string dir;
  std::string format;  // "mvtag", or "none" when the directory holds no weights
  ErnieConfig config;
  std::string config_path;
  std::string vocab_path;
  SafetensorsFile weights;  // empty when format == "none"
};

// Throws Error naming the directory and what is missing when it is not a usable ERNIE directory.
PretrainedErnie read_pretrained_ernie(const std::string& dir);

}  // namespace mvtag
