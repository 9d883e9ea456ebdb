#include "mvtag/core/serve/server_metrics.h"

#include <cmath>
#include <stdexcept>

#include <spdlog/fmt/fmt.h>

namespace mvtag {

namespace {
// Prometheus wants Go-style floats: "0.005", "1", "+Inf".
std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}
}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {
  for (std::size_t i = 1; i < bounds_.size(); ++i) {
    if (!(bounds_[i - 1] < bounds_[i])) throw std::invalid_argument("histogram bounds must ascend");
  }
}

void Histogram::observe(double value) {
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++counts_[i];
  ++count_;
  sum_ += value;
}

std::string Histogram::exposition(const std::string& name, const std::string& help) const {
  std::string out = fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    const double le = i < bounds_.size() ? bounds_[i] : INFINITY;
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, number(le), cumulative);
  }
  out += fmt::format("{}_sum {}\n{}_count {}\n", name, number(sum_), name, count_);
  return out;
}

ServerMetrics::ServerMetrics()
    : latency_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}),
      batch_size_({1, 2, 4, 8, 16, 32, 64, 128, 256}),
      batch_seconds_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}) {}

void ServerMetrics::request_started() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++in_flight_;
}

void ServerMetrics::request_finished(const std::string& path, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{path, status}];
  if (seconds < 0) return;  // refused before it started (e.g. 413): no latency, never in flight
  latency_.observe(seconds);
  if (in_flight_ > 0) --in_flight_;
}

void ServerMetrics::batch_scored(std::size_t videos, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  batch_size_.observe(static_cast<double>(videos));
  batch_seconds_.observe(seconds);
  videos_ += videos;
}

std::uint64_t ServerMetrics::requests(const std::string& path, int status) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = requests_.find({path, status});
  return it == requests_.end() ? 0 : it->second;
}

std::uint64_t ServerMetrics::batches_larger_than(std::size_t videos) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::uint64_t n = 0;
  const auto& bounds = batch_size_.upper_bounds();
  // Buckets are (bounds[i-1], bounds[i]]; count those entirely above `videos`.
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    const double lower = i == 0 ? -INFINITY : bounds[i - 1];
    if (lower >= static_cast<double>(videos)) n += batch_size_.bucket(i);
  }
  return n;
}

std::string ServerMetrics::prometheus_text(std::size_t queue_depth) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out =
      "# HELP mvtag_requests_total HTTP requests answered, by path and status code.\n"
      "# TYPE mvtag_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    out += fmt::format("mvtag_requests_total{{path=\"{}\",status=\"{}\"}} {}\n", prometheus_label(key.first),
                       key.second, n);
  }
  out += latency_.exposition("mvtag_request_duration_seconds",
                             "Seconds from the request's arrival to its answer, all paths.");
  out += batch_size_.exposition("mvtag_batch_size", "Videos per forward pass (micro-batch size).");
  out += batch_seconds_.exposition("mvtag_batch_duration_seconds", "Seconds per forward pass.");
  out += fmt::format(
      "# HELP mvtag_videos_tagged_total Videos scored.\n# TYPE mvtag_videos_tagged_total counter\n"
      "mvtag_videos_tagged_total {}\n"
      "# HELP mvtag_queue_depth Videos waiting for a forward pass.\n# TYPE mvtag_queue_depth gauge\n"
      "mvtag_queue_depth {}\n"
      "# HELP mvtag_requests_in_flight Requests being answered.\n# TYPE mvtag_requests_in_flight gauge\n"
      "mvtag_requests_in_flight {}\n",
      videos_, queue_depth, in_flight_);
  return out;
}

std::string prometheus_label(const std::string& value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

}  // namespace mvtag
