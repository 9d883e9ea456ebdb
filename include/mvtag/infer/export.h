// `mvtag export`: a self-contained inference model directory. It holds the weights (no
// optimizer state), model.json, vocab.txt, class.txt and inference.json (the text length and
// threshold it was exported with); `mvtag infer` needs nothing else.
#pragma once

#include <string>

#include "mvtag/model/model_dir.h"

namespace mvtag {

inline constexpr const char* kInferenceFile = "inference.json";

struct InferenceSettings {
  int text_max_len = 50;
  double threshold = 0.5;
};

// Writes the directory atomically; `source` is recorded in inference.json.
void export_model(const LoadedModel& model, const std::string& out_dir, const InferenceSettings& settings);

// inference.json of a model directory; defaults when the directory has none (a checkpoint).
InferenceSettings read_inference_settings(const std::string& model_dir);

}  // namespace mvtag
