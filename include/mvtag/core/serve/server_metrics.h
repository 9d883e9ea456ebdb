// What the server counts, and its Prometheus text exposition (GET /metrics, format 0.0.4):
//   mvtag_requests_total{path,status}     counter
//   mvtag_request_duration_seconds        histogram (per answered request, all paths)
//   mvtag_batch_size                      histogram (videos per forward pass)
//   mvtag_batch_duration_seconds          histogram (seconds per forward pass)
//   mvtag_videos_tagged_total             counter
//   mvtag_queue_depth                     gauge (videos waiting for a batch)
//   mvtag_requests_in_flight              gauge
// Thread-safe; no LibTorch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace mvtag {

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);  // ascending; +Inf is implied
  void observe(double value);
  // Prometheus lines for `name` (bucket counts are cumulative, as the format requires).
  std::string exposition(const std::string& name, const std::string& help) const;
  std::uint64_t count() const { return count_; }
  // Observations that fell in the bucket (upper_bounds[i-1], upper_bounds[i]] (not cumulative);
  // the last index is the +Inf bucket.
  std::uint64_t bucket(std::size_t i) const { return counts_.at(i); }
  const std::vector<double>& upper_bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

class ServerMetrics {
 public:
  ServerMetrics();
  void request_started();
  // `seconds` < 0: the request was refused before request_started() (httplib's 413, say).
  void request_finished(const std::string& path, int status, double seconds);
  void batch_scored(std::size_t videos, double seconds);
  // The text of GET /metrics; `queue_depth` is read by the caller at that moment.
  std::string prometheus_text(std::size_t queue_depth) const;

  // For tests and logs.
  std::uint64_t requests(const std::string& path, int status) const;
  std::uint64_t batches_larger_than(std::size_t videos) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  Histogram latency_;
  Histogram batch_size_;
  Histogram batch_seconds_;
  std::uint64_t videos_ = 0;
  std::int64_t in_flight_ = 0;
};

// A Prometheus label value with \, " and newlines escaped.
std::string prometheus_label(const std::string& value);

}  // namespace mvtag
