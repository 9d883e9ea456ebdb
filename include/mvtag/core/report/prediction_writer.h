// The output of `mvtag infer`: per video, the classes whose probability reaches the threshold,
// as the original's inference.py wrote them (a JSON array of {"video_id", "labels": [[name,
// prob], ...]} with classes in ascending index, json.dump(indent=4, ensure_ascii=False)), or
// the same objects as JSON Lines.
#pragma once

#include <string>
#include <vector>

namespace mvtag {

struct LabelSelection {
  double threshold = 0.5;  // a class is reported when prob >= threshold (inclusive, as the original)
  int top_k = 0;           // > 0: only the k most probable of those, most probable first
};

// Class indices to report for one video: ascending index (the original's order), or with
// top_k > 0 the k most probable by descending probability (ties: lower index first).
std::vector<int> select_labels(const float* probs, int num_classes, const LabelSelection& selection);

enum class PredictionFormat { Json, Jsonl };
PredictionFormat parse_prediction_format(const std::string& name);  // "json" | "jsonl"

class PredictionWriter {
 public:
  PredictionWriter(PredictionFormat format, std::vector<std::string> class_names, LabelSelection selection);
  void add(const std::string& video_id, const float* probs);
  std::size_t count() const { return count_; }
  // The whole output text.
  std::string finish() const;

 private:
  PredictionFormat format_;
  std::vector<std::string> names_;
  LabelSelection selection_;
  std::string body_;
  std::size_t count_ = 0;
};

}  // namespace mvtag
