// Importing a model trained by the original: its combined Paddle parameter file
// (checkpoints_save/param, or an inference model's params) becomes an mvtag model directory.
// The file stores no names; they are rebuilt from the configuration (MODEL sizes,
// lstm_pool_mode) and the ERNIE config, and each tensor's dims are checked as it is read
// (docs/FORMATS.md, "The combined parameter file").
#pragma once

#include <cstddef>
#include <string>

#include "mvtag/core/config/config.h"

namespace mvtag {

struct PaddleImportOptions {
  std::string checkpoint;    // a directory holding 'param' or 'params', or the combined file itself
  std::string output;        // the model directory to write (replaced atomically)
  std::string ernie_config;  // "" = the config of TRAIN.ernie_pretrain_dict_path (found as training finds it)
  std::string vocab;         // "" = vocab.txt of TRAIN.ernie_pretrain_dict_path
};

struct PaddleImportResult {
  std::string params_file;  // the file read
  std::size_t tensors = 0;
  std::string lstm_pool_mode;
};

// Writes model.safetensors, model.json, vocab.txt and class.txt (MODEL.class_name_file) into
// options.output. Errors name the file, the tensor or the key that is likely wrong.
PaddleImportResult import_paddle_model(const Config& config, const PaddleImportOptions& options);

}  // namespace mvtag
