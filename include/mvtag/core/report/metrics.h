// Evaluation metrics over plain arrays (no tensors): the original's Hit@k, YouTube-8M Hit@1,
// PERR, GAP@k and mAP, and per-class precision/recall/F1 at a threshold. Definitions, tie
// handling and where results can differ from Google's code: docs/METRICS.md.
//
// Scores and multi-hot labels are row-major float arrays [n, num_classes]. A label counts as
// positive when it is > 0 (YouTube-8M's `actuals > 0`), except for the original's Hit@k, which
// counts labels >= 0.1 as its accuracy_metrics.py does. Scores may be any real numbers; NaN is
// an error. Ties are broken deterministically: higher score first, then lower class index
// (within a video), then lower video index (in the order added).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mvtag {

struct MetricsOptions {
  std::vector<int> hit_ks = {1, 2, 3, 5};  // the original's Hit@k; each k in [1, 10]
  int top_k = 20;                          // GAP@k and mAP: pairs kept per video (>= 1)
  float threshold = 0.5f;                  // P/R/F1: a class is predicted when score >= threshold
};

struct ClassMetrics {
  std::size_t support = 0;         // videos labelled with the class
  std::size_t predicted = 0;       // videos scored >= threshold for it
  std::size_t true_positives = 0;  // both
  double precision = 0;            // 0/0 = 0
  double recall = 0;               // 0/0 = 0
  double f1 = 0;                   // 0 when precision + recall = 0
  double ap = 0;                   // its average precision within mAP (0 without support)
};

struct PrecisionRecallF1 {
  double precision = 0;
  double recall = 0;
  double f1 = 0;
};

struct MetricsReport {
  std::size_t num_videos = 0;
  int num_classes = 0;
  MetricsOptions options;
  std::map<int, double> hit_at;  // k -> the original's Hit@k, in percent
  // YouTube-8M metrics, as fractions in [0, 1].
  double yt8m_hit1 = 0;
  double perr = 0;
  double gap = 0;       // deterministic tie order
  double gap_low = 0;   // ties ordered misses first (pessimistic bound)
  double gap_high = 0;  // ties ordered hits first (optimistic bound)
  double map = 0;
  std::vector<ClassMetrics> per_class;  // [num_classes]
  PrecisionRecallF1 micro;  // from the summed counts over all classes
  PrecisionRecallF1 macro;  // unweighted means of the per-class values, over all classes
};

// Adds batches, computes everything globally at the end (never averaging per-batch values).
// Keeps per video only its top_k (score, class) pairs, plus per-class counts, so memory is
// about 16·top_k bytes per video.
class MetricsAccumulator {
 public:
  // Throws Error(Usage) for num_classes < 1, a Hit@k outside [1, 10] or top_k < 1.
  explicit MetricsAccumulator(int num_classes, MetricsOptions options = {});

  // scores, labels: row-major [n, num_classes].
  void add(const float* scores, const float* labels, std::size_t n);
  // labels as class-index lists, one per video (scores has labels.size() rows).
  // Throws Error(Data) for an index outside [0, num_classes).
  void add(const float* scores, const std::vector<std::vector<int>>& labels);

  std::size_t num_videos() const { return num_videos_; }
  int num_classes() const { return num_classes_; }
  // May be called at any time; the accumulator stays usable.
  MetricsReport finish() const;

 private:
  struct Pair {
    float score;
    std::int32_t cls;
    std::uint32_t video;
    bool positive;
  };
  void add_video(const float* scores, const std::vector<char>& positive,
                 const std::vector<char>& hit_positive);

  int num_classes_;
  MetricsOptions options_;
  std::size_t num_videos_ = 0;
  std::vector<std::size_t> hits_;  // per options_.hit_ks
  std::size_t yt8m_hits_ = 0;
  double perr_sum_ = 0;
  std::vector<Pair> pairs_;
  std::vector<std::size_t> support_;
  std::vector<std::size_t> predicted_;
  std::vector<std::size_t> true_positives_;
  std::vector<int> order_;  // scratch
};

// One-shot convenience over a whole score/label matrix.
MetricsReport compute_metrics(const float* scores, const float* labels, std::size_t n,
                              int num_classes, const MetricsOptions& options = {});

// {"num_videos", "num_classes", "hit_at": {"1": %, ...}, "yt8m_hit1", "perr", "gap", "gap_low",
//  "gap_high", "map", "top_k", "threshold", "micro": {precision, recall, f1}, "macro": {...},
//  "per_class": [{index, name, support, predicted, true_positives, precision, recall, f1, ap}]}.
// class_names: one per class, or empty for "class_<i>". Throws Error(Data) on another size.
nlohmann::json to_json(const MetricsReport& report, const std::vector<std::string>& class_names);

// The original's loss bookkeeping (MetricsCalculator in scenario_lib/accuracy_metrics.py): the
// fetched loss is the batch *sum* (over samples and classes); each batch adds sum × batch_size,
// and the printed "Loss" is that total over N.
class LossMeter {
 public:
  void add(double batch_loss_sum, std::size_t batch_size);
  std::size_t count() const { return count_; }
  double original() const;    // Σ sum_b·B_b / N, the number the original prints
  double per_sample() const;  // Σ sum_b / N
 private:
  double weighted_ = 0;
  double total_ = 0;
  std::size_t count_ = 0;
};

// The original's log line: "<info>\tLoss: 1.234567,\tavg_acc1:87.50,\tavg_acc2:...,".
std::string original_metrics_line(const std::string& info, double loss,
                                  const std::map<int, double>& hit_at);

}  // namespace mvtag
