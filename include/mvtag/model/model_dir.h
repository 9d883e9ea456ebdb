// Model directories (export, eval, infer): model.safetensors  model.json  vocab.txt  class.txt
//
// Written into a staging directory and renamed into place, so a crash never leaves a
// half-written one under the final name.
#pragma once

#include <string>

#include <torch/types.h>

#include "mvtag/core/data/class_map.h"
#include "mvtag/core/text/tokenizer.h"
#include "mvtag/core/text/vocab.h"
#include "mvtag/model/model.h"

namespace mvtag {

// Writes model.safetensors, model.json, vocab.txt and class.txt into an existing directory
// (callers building a larger directory make it atomic themselves).
void write_model_files(const std::string& dir, const VideoTagNetImpl& net, const Vocab& vocab,
                       const ClassMap& classes);
// The same into `dir`, atomically.
void save_model_directory(const std::string& dir, const VideoTagNetImpl& net, const Vocab& vocab,
                          const ClassMap& classes);

// A model directory loaded for eval/infer/export: the network (eval mode, on `device`), its
// vocabulary and class names. Errors name the directory and the missing file.
struct LoadedModel {
  VideoTagNet net;
  Tokenizer tokenizer;
  ClassMap classes;
  std::string dir;
};
LoadedModel load_model_directory(const std::string& dir, const torch::Device& device);

}  // namespace mvtag
