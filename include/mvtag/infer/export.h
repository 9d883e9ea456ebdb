// `mvtag export`: a self-contained inference model directory. It holds the weights (no
// optimizer state), model.json, vocab.txt, class.txt and inference.json (the text length,
// threshold and precision it was exported with); `mvtag infer` needs nothing else. The weights
// are float32 whatever the precision: it is applied when the model is loaded.
#pragma once

#include <string>

#include "mvtag/core/config/inference_settings.h"
#include "mvtag/model/model_dir.h"

namespace mvtag {

// Writes the directory atomically; `source` is recorded in inference.json.
void export_model(const LoadedModel& model, const std::string& out_dir, const InferenceSettings& settings);

}  // namespace mvtag
