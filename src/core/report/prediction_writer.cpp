#include "mvtag/core/report/prediction_writer.h"

#include <algorithm>
#include <numeric>

#include <nlohmann/json.hpp>

#include "mvtag/core/base/error.h"
#include "mvtag/core/report/py_json.h"

namespace mvtag {

std::vector<int> select_labels(const float* probs, int num_classes, const LabelSelection& selection) {
  std::vector<int> out;
  for (int c = 0; c < num_classes; ++c) {
    if (static_cast<double>(probs[c]) >= selection.threshold) out.push_back(c);
  }
  if (selection.top_k > 0) {
    std::stable_sort(out.begin(), out.end(), [&](int a, int b) { return probs[a] > probs[b]; });
    if (out.size() > static_cast<std::size_t>(selection.top_k)) out.resize(static_cast<std::size_t>(selection.top_k));
  }
  return out;
}

PredictionFormat parse_prediction_format(const std::string& name) {
  if (name == "json") return PredictionFormat::Json;
  if (name == "jsonl") return PredictionFormat::Jsonl;
  throw_error(ErrorKind::Usage, "unknown output format '" + name + "' (expected json or jsonl)");
}

PredictionWriter::PredictionWriter(PredictionFormat format, std::vector<std::string> class_names,
                                   LabelSelection selection)
    : format_(format), names_(std::move(class_names)), selection_(selection) {}

void PredictionWriter::add(const std::string& video_id, const float* probs) {
  nlohmann::ordered_json labels = nlohmann::ordered_json::array();
  for (int c : select_labels(probs, static_cast<int>(names_.size()), selection_)) {
    // float32 -> double, as the original's float(prob) printed it.
    labels.push_back(nlohmann::ordered_json::array({names_[static_cast<std::size_t>(c)], static_cast<double>(probs[c])}));
  }
  const nlohmann::ordered_json item = {{"video_id", video_id}, {"labels", labels}};
  if (format_ == PredictionFormat::Jsonl) {
    body_ += python_json_dumps(item, -1) + "\n";
  } else {
    // Python's indent=4 layout, one level deeper inside the top-level array.
    std::string text = python_json_dumps(item, 4);
    std::string indented = "    ";
    for (char ch : text) {
      indented += ch;
      if (ch == '\n') indented += "    ";
    }
    body_ += (count_ ? ",\n" : "\n") + indented;
  }
  ++count_;
}

std::string PredictionWriter::finish() const {
  if (format_ == PredictionFormat::Jsonl) return body_;
  return count_ ? "[" + body_ + "\n]" : "[]";
}

}  // namespace mvtag
