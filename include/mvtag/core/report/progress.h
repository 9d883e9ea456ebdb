// A progress line for long work: count, rate, ETA and a caller-supplied suffix (e.g. loss).
// On a terminal the line is redrawn in place; otherwise a line is logged every few seconds.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace mvtag {

class Progress {
 public:
  // total <= 0 means unknown (no percentage, no ETA).
  Progress(std::string label, std::int64_t total, std::string unit = "samples");
  // Adds `n` finished units; `suffix` is shown after the rate (e.g. "loss 12.345").
  void advance(std::int64_t n, const std::string& suffix = "");
  // Prints the final line (always) and returns the elapsed seconds.
  double finish(const std::string& suffix = "");

  std::int64_t done() const { return done_; }
  double elapsed_seconds() const;
  double rate() const;  // units per second so far

 private:
  void print(const std::string& suffix, bool final);

  std::string label_;
  std::int64_t total_;
  std::string unit_;
  std::int64_t done_ = 0;
  bool tty_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_print_;
};

// "1:02:03" / "2:03"
std::string format_duration(double seconds);

}  // namespace mvtag
