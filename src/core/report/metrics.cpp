#include "mvtag/core/report/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "mvtag/core/base/error.h"

namespace mvtag {

namespace {

constexpr int kOriginalTopN = 10;       // accuracy_metrics.py keeps argsort(-pred)[:10]
constexpr float kHitLabelMin = 0.1f;    // ... and counts labels >= 0.1

double ratio(double num, double den) { return den > 0 ? num / den : 0.0; }

PrecisionRecallF1 prf(double tp, double predicted, double support) {
  PrecisionRecallF1 out;
  out.precision = ratio(tp, predicted);
  out.recall = ratio(tp, support);
  out.f1 = ratio(2 * out.precision * out.recall, out.precision + out.recall);
  return out;
}

}  // namespace

MetricsAccumulator::MetricsAccumulator(int num_classes, MetricsOptions options)
    : num_classes_(num_classes), options_(std::move(options)) {
  if (num_classes_ < 1) throw_error(ErrorKind::Usage, "metrics need num_classes >= 1, got " + std::to_string(num_classes_));
  for (int k : options_.hit_ks) {
    if (k < 1 || k > kOriginalTopN) {
      throw_error(ErrorKind::Usage, "Hit@k needs 1 <= k <= 10 (the original keeps only the top 10 "
                                    "scores), got k = " + std::to_string(k));
    }
  }
  if (options_.top_k < 1) throw_error(ErrorKind::Usage, "GAP@k needs k >= 1, got " + std::to_string(options_.top_k));
  hits_.assign(options_.hit_ks.size(), 0);
  const auto c = static_cast<std::size_t>(num_classes_);
  support_.assign(c, 0);
  predicted_.assign(c, 0);
  true_positives_.assign(c, 0);
  order_.resize(c);
}

void MetricsAccumulator::add(const float* scores, const float* labels, std::size_t n) {
  const auto c = static_cast<std::size_t>(num_classes_);
  std::vector<char> positive(c), hit_positive(c);
  for (std::size_t i = 0; i < n; ++i) {
    const float* row = labels + i * c;
    for (std::size_t j = 0; j < c; ++j) {
      positive[j] = row[j] > 0;
      hit_positive[j] = row[j] >= kHitLabelMin;
    }
    add_video(scores + i * c, positive, hit_positive);
  }
}

void MetricsAccumulator::add(const float* scores, const std::vector<std::vector<int>>& labels) {
  const auto c = static_cast<std::size_t>(num_classes_);
  std::vector<char> positive(c);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    std::fill(positive.begin(), positive.end(), 0);
    for (int index : labels[i]) {
      if (index < 0 || index >= num_classes_) {
        throw_error(ErrorKind::Data, "label index " + std::to_string(index) + " of video " +
                                         std::to_string(num_videos_) + " is outside [0, " +
                                         std::to_string(num_classes_) + ")");
      }
      positive[static_cast<std::size_t>(index)] = 1;
    }
    add_video(scores + i * c, positive, positive);
  }
}

void MetricsAccumulator::add_video(const float* scores, const std::vector<char>& positive,
                                   const std::vector<char>& hit_positive) {
  const int c = num_classes_;
  for (int j = 0; j < c; ++j) {
    if (std::isnan(scores[j])) {
      throw_error(ErrorKind::Data, "score of video " + std::to_string(num_videos_) + ", class " +
                                       std::to_string(j) + " is NaN");
    }
  }
  const auto video = static_cast<std::uint32_t>(num_videos_);
  ++num_videos_;
  const int num_positive = static_cast<int>(std::count(positive.begin(), positive.end(), 1));

  // Rank only as deep as any metric looks: Hit@k's top 10, GAP's top k, PERR's top n_i.
  const int depth = std::min(c, std::max({kOriginalTopN, options_.top_k, num_positive}));
  const auto ranks_before = [scores](int a, int b) {
    return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
  };
  std::iota(order_.begin(), order_.end(), 0);
  if (depth < c) std::nth_element(order_.begin(), order_.begin() + depth, order_.end(), ranks_before);
  std::sort(order_.begin(), order_.begin() + depth, ranks_before);

  int first_hit_rank = kOriginalTopN;
  for (int r = 0; r < std::min(c, kOriginalTopN); ++r) {
    if (hit_positive[order_[r]]) {
      first_hit_rank = r;
      break;
    }
  }
  for (std::size_t i = 0; i < hits_.size(); ++i) {
    if (first_hit_rank < options_.hit_ks[i]) ++hits_[i];
  }

  if (positive[order_[0]]) ++yt8m_hits_;

  // n_i = 0 contributes 0 (Google's argpartition(.., -0) takes the whole row, which has no hit).
  if (num_positive > 0) {
    int correct = 0;
    for (int r = 0; r < num_positive; ++r) {
      const int cls = order_[r];
      if (positive[cls] && scores[cls] > 0) ++correct;
    }
    perr_sum_ += static_cast<double>(correct) / num_positive;
  }

  for (int r = 0; r < std::min(c, options_.top_k); ++r) {
    const int cls = order_[r];
    pairs_.push_back({scores[cls], cls, video, positive[cls] != 0});
  }

  for (int j = 0; j < c; ++j) {
    const bool predicted = scores[j] >= options_.threshold;
    support_[j] += positive[j] ? 1 : 0;
    predicted_[j] += predicted ? 1 : 0;
    true_positives_[j] += (predicted && positive[j]) ? 1 : 0;
  }
}

MetricsReport MetricsAccumulator::finish() const {
  MetricsReport report;
  report.num_videos = num_videos_;
  report.num_classes = num_classes_;
  report.options = options_;
  const auto n = static_cast<double>(num_videos_);
  for (std::size_t i = 0; i < hits_.size(); ++i) {
    report.hit_at[options_.hit_ks[i]] = 100.0 * ratio(static_cast<double>(hits_[i]), n);
  }
  report.yt8m_hit1 = ratio(static_cast<double>(yt8m_hits_), n);
  report.perr = ratio(perr_sum_, n);

  std::vector<Pair> sorted = pairs_;
  std::sort(sorted.begin(), sorted.end(), [](const Pair& a, const Pair& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.cls != b.cls) return a.cls < b.cls;
    return a.video < b.video;
  });
  const double total_positives =
      static_cast<double>(std::accumulate(support_.begin(), support_.end(), std::size_t{0}));

  // GAP: one pass in the deterministic order; per-class AP for mAP falls out of the same pass
  // because filtering the global order by class leaves that class's pairs in its own order.
  const auto c = static_cast<std::size_t>(num_classes_);
  std::vector<double> ap_sum(c, 0.0), class_rank(c, 0.0), class_hits(c, 0.0);
  double gap_sum = 0, hits = 0, rank = 0;
  for (const Pair& p : sorted) {
    rank += 1;
    class_rank[p.cls] += 1;
    if (!p.positive) continue;
    hits += 1;
    class_hits[p.cls] += 1;
    gap_sum += hits / rank;
    ap_sum[p.cls] += class_hits[p.cls] / class_rank[p.cls];
  }
  report.gap = ratio(gap_sum, total_positives);

  // Tie bounds: within each run of equal scores, put its hits first (high) or last (low).
  double high = 0, low = 0, hits_before = 0, rank_before = 0;
  for (std::size_t begin = 0; begin < sorted.size();) {
    std::size_t end = begin;
    double group_hits = 0;
    while (end < sorted.size() && sorted[end].score == sorted[begin].score) group_hits += sorted[end++].positive;
    const double group_size = static_cast<double>(end - begin);
    for (double j = 1; j <= group_hits; j += 1) {
      high += (hits_before + j) / (rank_before + j);
      low += (hits_before + j) / (rank_before + group_size - group_hits + j);
    }
    hits_before += group_hits;
    rank_before += group_size;
    begin = end;
  }
  report.gap_high = ratio(high, total_positives);
  report.gap_low = ratio(low, total_positives);

  report.per_class.resize(c);
  double tp_sum = 0, predicted_sum = 0, map_sum = 0;
  for (std::size_t j = 0; j < c; ++j) {
    ClassMetrics& m = report.per_class[j];
    m.support = support_[j];
    m.predicted = predicted_[j];
    m.true_positives = true_positives_[j];
    const PrecisionRecallF1 v = prf(static_cast<double>(m.true_positives), static_cast<double>(m.predicted),
                                    static_cast<double>(m.support));
    m.precision = v.precision;
    m.recall = v.recall;
    m.f1 = v.f1;
    m.ap = ratio(ap_sum[j], static_cast<double>(m.support));
    map_sum += m.ap;
    tp_sum += static_cast<double>(m.true_positives);
    predicted_sum += static_cast<double>(m.predicted);
    report.macro.precision += m.precision / static_cast<double>(c);
    report.macro.recall += m.recall / static_cast<double>(c);
    report.macro.f1 += m.f1 / static_cast<double>(c);
  }
  report.map = map_sum / static_cast<double>(c);
  report.micro = prf(tp_sum, predicted_sum, total_positives);
  return report;
}

MetricsReport compute_metrics(const float* scores, const float* labels, std::size_t n,
                              int num_classes, const MetricsOptions& options) {
  MetricsAccumulator acc(num_classes, options);
  acc.add(scores, labels, n);
  return acc.finish();
}

nlohmann::json to_json(const MetricsReport& report, const std::vector<std::string>& class_names) {
  const auto c = static_cast<std::size_t>(report.num_classes);
  if (!class_names.empty() && class_names.size() != c) {
    throw_error(ErrorKind::Data, std::to_string(class_names.size()) + " class names for " +
                                     std::to_string(c) + " classes");
  }
  const auto prf_json = [](const PrecisionRecallF1& v) {
    return nlohmann::json{{"precision", v.precision}, {"recall", v.recall}, {"f1", v.f1}};
  };
  nlohmann::json hit_at = nlohmann::json::object();
  for (const auto& [k, value] : report.hit_at) hit_at[std::to_string(k)] = value;
  nlohmann::json per_class = nlohmann::json::array();
  for (std::size_t j = 0; j < report.per_class.size(); ++j) {
    const ClassMetrics& m = report.per_class[j];
    per_class.push_back({{"index", j},
                         {"name", class_names.empty() ? "class_" + std::to_string(j) : class_names[j]},
                         {"support", m.support},
                         {"predicted", m.predicted},
                         {"true_positives", m.true_positives},
                         {"precision", m.precision},
                         {"recall", m.recall},
                         {"f1", m.f1},
                         {"ap", m.ap}});
  }
  return {{"num_videos", report.num_videos},
          {"num_classes", report.num_classes},
          {"hit_at", hit_at},
          {"yt8m_hit1", report.yt8m_hit1},
          {"perr", report.perr},
          {"gap", report.gap},
          {"gap_low", report.gap_low},
          {"gap_high", report.gap_high},
          {"map", report.map},
          {"top_k", report.options.top_k},
          {"threshold", report.options.threshold},
          {"micro", prf_json(report.micro)},
          {"macro", prf_json(report.macro)},
          {"per_class", per_class}};
}

void LossMeter::add(double batch_loss_sum, std::size_t batch_size) {
  weighted_ += batch_loss_sum * static_cast<double>(batch_size);
  total_ += batch_loss_sum;
  count_ += batch_size;
}

double LossMeter::original() const { return ratio(weighted_, static_cast<double>(count_)); }

double LossMeter::per_sample() const { return ratio(total_, static_cast<double>(count_)); }

std::string original_metrics_line(const std::string& info, double loss,
                                  const std::map<int, double>& hit_at) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "Loss: %.6f,", loss);
  std::string line = info + "\t" + buffer;
  for (const auto& [k, value] : hit_at) {
    std::snprintf(buffer, sizeof buffer, "avg_acc%d:%.2f,", k, value);
    line += std::string("\t") + buffer;
  }
  return line;
}

}  // namespace mvtag
