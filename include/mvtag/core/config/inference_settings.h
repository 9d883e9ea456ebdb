// The settings an exported model carries for inference (inference.json: the title length,
// the report threshold and the precision), and how they combine with a configuration and the
// command line.
//
// Precedence, highest first:
//   1. an explicit flag (`--threshold`);
//   2. the configuration, when its file or a --set gives the key (INFER.threshold,
//      MODEL.text_max_len);
//   3. the model directory's inference.json;
//   4. the built-in defaults below.
// The precision has no configuration key: `--precision` > inference.json "precision" > fp32.
// An inference.json without "precision" (written before it existed) means fp32.
#pragma once

#include <optional>
#include <string>

#include "mvtag/core/config/config.h"
#include "mvtag/core/config/precision.h"

namespace mvtag {

inline constexpr const char* kInferenceFile = "inference.json";

struct InferenceSettings {
  int text_max_len = 50;
  double threshold = 0.5;
  Precision precision = Precision::Fp32;
};

// inference.json of a model directory; nullopt when the directory has none (a checkpoint).
// Error(Data) naming the file when it is malformed (and the key, for an unknown precision).
std::optional<InferenceSettings> read_inference_settings(const std::string& model_dir);

// The value of each setting and where it came from ("--threshold", "conf/conf.txt:42",
// "override 'INFER.threshold=0.9'", "runs/x/inference.json", "default").
struct ResolvedInferenceSettings {
  InferenceSettings values;
  std::string threshold_from;
  std::string text_max_len_from;
  std::string precision_from;
};

// Applies the precedence above. `config` is nullptr when no configuration was given.
ResolvedInferenceSettings resolve_inference_settings(const Config* config, const std::string& model_dir,
                                                     std::optional<double> threshold_flag,
                                                     std::optional<Precision> precision_flag = std::nullopt);

}  // namespace mvtag
