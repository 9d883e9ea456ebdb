#include "mvtag/core/report/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include <spdlog/spdlog.h>

namespace mvtag {

namespace {
using Clock = std::chrono::steady_clock;
constexpr double kTtyInterval = 0.25;
constexpr double kLogInterval = 10.0;
}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

Progress::Progress(std::string label, std::int64_t total, std::string unit)
    : label_(std::move(label)),
      total_(total),
      unit_(std::move(unit)),
      tty_(::isatty(STDERR_FILENO) == 1 && spdlog::default_logger()->level() <= spdlog::level::info),
      start_(Clock::now()),
      last_print_(start_) {}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(Clock::now() - start_).count();
}

double Progress::rate() const {
  const double t = elapsed_seconds();
  return t > 0 ? static_cast<double>(done_) / t : 0.0;
}

void Progress::advance(std::int64_t n, const std::string& suffix) {
  done_ += n;
  const auto now = Clock::now();
  const double since = std::chrono::duration<double>(now - last_print_).count();
  if (since >= (tty_ ? kTtyInterval : kLogInterval)) {
    last_print_ = now;
    print(suffix, false);
  }
}

double Progress::finish(const std::string& suffix) {
  if (!finished_) {
    finished_ = true;
    print(suffix, true);
  }
  return elapsed_seconds();
}

void Progress::print(const std::string& suffix, bool final) {
  // Quiet where info is not logged (--log-level warn, and the ranks other than 0 of a run).
  if (!spdlog::should_log(spdlog::level::info)) return;
  const double r = rate();
  char head[160];
  if (total_ > 0) {
    const double pct = 100.0 * static_cast<double>(done_) / static_cast<double>(total_);
    const double eta = r > 0 ? static_cast<double>(total_ - done_) / r : NAN;
    std::snprintf(head, sizeof head, "%s %lld/%lld (%.1f%%) %.1f %s/s %s %s", label_.c_str(),
                  static_cast<long long>(done_), static_cast<long long>(total_), pct, r, unit_.c_str(),
                  final ? "in" : "ETA", format_duration(final ? elapsed_seconds() : eta).c_str());
  } else {
    std::snprintf(head, sizeof head, "%s %lld %s, %.1f %s/s, %s", label_.c_str(),
                  static_cast<long long>(done_), unit_.c_str(), r, unit_.c_str(),
                  format_duration(elapsed_seconds()).c_str());
  }
  std::string line = head;
  if (!suffix.empty()) line += "  " + suffix;
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? "\n" : "");
    std::fflush(stderr);
  } else {
    spdlog::info("{}", line);
  }
}

}  // namespace mvtag
