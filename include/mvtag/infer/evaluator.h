// Evaluator: a trained model (checkpoint or model directory) opened for evaluation against the
// labelled VALID list of a configuration, on one device. It gives the loss and every metric
// (Hit@k, PERR, GAP@20, mAP, per-class P/R/F1), and exports the model with the configuration's
// inference settings. `mvtag eval` is a thin layer over it.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>
#include <torch/types.h>

#include "mvtag/core/config/config.h"
#include "mvtag/core/config/precision.h"
#include "mvtag/core/data/dataset.h"
#include "mvtag/infer/predictor.h"
#include "mvtag/model/model_dir.h"

namespace mvtag {

struct Evaluation {
  EvalResult result;     // metrics, loss, videos and skipped samples
  DatasetReport data;    // what the list held (missing feature files are counted here)
  std::string list_file;
  std::string model_dir;
  Precision precision = Precision::Fp32;  // what the network ran at

  // Every number, per class included, as JSON (the `--json` file of `mvtag eval`).
  nlohmann::json to_json(const std::vector<std::string>& class_names) const;
};

class Evaluator {
 public:
  // Loads the model and checks it against the configuration (network, class list, vocabulary).
  // `config` must outlive the Evaluator. `precision` (the --precision flag) > the model's
  // inference.json > fp32; int8 with a non-CPU device is an Error(Usage) before loading.
  Evaluator(const Config& config, const std::string& model_dir, const torch::Device& device,
            std::optional<Precision> precision = std::nullopt);

  const LoadedModel& model() const { return model_; }
  Precision precision() const { return precision_; }

  // The configuration's VALID list sized for this model, unless `data` is given. Error(Data)
  // naming the list when no video in it is usable. Runs at precision() (applied to the network
  // on the first call).
  Evaluation evaluate(std::optional<DatasetOptions> data = std::nullopt) const;

  // Writes an inference model directory (weights, model.json, vocab.txt, class.txt and
  // inference.json with MODEL.text_max_len and INFER.threshold of the configuration, and
  // precision()). The weights are written float32, so call it before evaluate() (a bf16
  // network cannot be written).
  void export_to(const std::string& out_dir) const;

 private:
  const Config& config_;
  torch::Device device_;
  Precision precision_;
  LoadedModel model_;
};

}  // namespace mvtag
