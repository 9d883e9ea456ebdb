#include "mvtag/core/report/training_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

namespace mvtag {

namespace {

constexpr double kPanelW = 420, kPanelH = 280, kMarginL = 60, kMarginR = 20, kMarginT = 50,
                 kMarginB = 45;
const char* const kTrainColor = "#1f77b4";
const char* const kValColor = "#d62728";

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

std::string escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

// A "nice" tick step for the range (1, 2 or 5 times a power of ten).
double tick_step(double range) {
  if (!(range > 0)) return 1;
  const double raw = range / 5;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  const double m = raw / p;
  return p * (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10);
}

std::string tick_label(double v, double step) {
  char b[32];
  const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step)));
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

using Series = std::vector<std::pair<int, double>>;

std::string panel(double x0, const std::string& label, const Series& train, const Series& val,
                  int max_epoch) {
  std::vector<double> ys;
  for (const auto& s : {train, val})
    for (const auto& p : s) ys.push_back(p.second);
  double lo = ys.empty() ? 0 : *std::min_element(ys.begin(), ys.end());
  double hi = ys.empty() ? 1 : *std::max_element(ys.begin(), ys.end());
  if (hi - lo < 1e-9) {
    lo -= 0.5;
    hi += 0.5;
  }
  const double step = tick_step(hi - lo);
  lo = std::floor(lo / step) * step;
  hi = std::ceil(hi / step) * step;

  const double left = x0 + kMarginL, right = x0 + kPanelW - kMarginR;
  const double top = kMarginT, bottom = kMarginT + kPanelH - kMarginB;
  const int emax = std::max(max_epoch, 2);
  auto px = [&](double e) { return left + (e - 1) / (emax - 1) * (right - left); };
  auto py = [&](double v) { return bottom - (v - lo) / (hi - lo) * (bottom - top); };

  std::string s;
  s += "<text x=\"" + num((left + right) / 2) + "\" y=\"" + num(top - 12) +
       "\" text-anchor=\"middle\" font-weight=\"bold\">" + escape(label) + "</text>\n";
  s += "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(right - left) +
       "\" height=\"" + num(bottom - top) + "\" fill=\"none\" stroke=\"#888\"/>\n";
  for (double v = lo; v <= hi + step * 1e-6; v += step) {
    s += "<line x1=\"" + num(left) + "\" x2=\"" + num(right) + "\" y1=\"" + num(py(v)) + "\" y2=\"" +
         num(py(v)) + "\" stroke=\"#eee\"/>\n";
    s += "<text x=\"" + num(left - 6) + "\" y=\"" + num(py(v) + 4) + "\" text-anchor=\"end\">" +
         tick_label(v, step) + "</text>\n";
  }
  const int estep = std::max(1, static_cast<int>(tick_step(emax - 1)));
  for (int e = 1; e <= emax; e += estep) {
    s += "<text x=\"" + num(px(e)) + "\" y=\"" + num(bottom + 16) + "\" text-anchor=\"middle\">" +
         std::to_string(e) + "</text>\n";
  }
  s += "<text x=\"" + num((left + right) / 2) + "\" y=\"" + num(bottom + 34) +
       "\" text-anchor=\"middle\">epoch</text>\n";
  auto line = [&](const Series& series, const char* color) {
    if (series.empty()) return;
    std::string pts;
    for (const auto& [e, v] : series) pts += num(px(e)) + "," + num(py(v)) + " ";
    s += "<polyline fill=\"none\" stroke=\"" + std::string(color) + "\" stroke-width=\"2\" points=\"" + pts +
         "\"/>\n";
    for (const auto& [e, v] : series) {
      s += "<circle cx=\"" + num(px(e)) + "\" cy=\"" + num(py(v)) + "\" r=\"3\" fill=\"" + color + "\"/>\n";
    }
  };
  line(train, kTrainColor);
  line(val, kValColor);
  return s;
}

}  // namespace

std::string training_curve_svg(const std::vector<EpochPoint>& points, const std::string& title) {
  Series train_loss, val_loss, train_hit, val_hit;
  int max_epoch = 1;
  for (const auto& p : points) {
    max_epoch = std::max(max_epoch, p.epoch);
    train_loss.emplace_back(p.epoch, p.train_loss);
    train_hit.emplace_back(p.epoch, p.train_hit1);
    if (p.val_loss) val_loss.emplace_back(p.epoch, *p.val_loss);
    if (p.val_hit1) val_hit.emplace_back(p.epoch, *p.val_hit1);
  }
  const double width = 2 * kPanelW, height = kMarginT + kPanelH + 10;
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width) + "\" height=\"" +
                  num(height) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<text x=\"10\" y=\"18\" font-size=\"14\">" + escape(title) + "</text>\n";
  s += "<text x=\"" + num(width - 190) + "\" y=\"18\" fill=\"" + kTrainColor + "\">&#9632; train</text>\n";
  s += "<text x=\"" + num(width - 110) + "\" y=\"18\" fill=\"" + kValColor + "\">&#9632; validation</text>\n";
  s += panel(0, "loss per video", train_loss, val_loss, max_epoch);
  s += panel(kPanelW, "Hit@1 (%)", train_hit, val_hit, max_epoch);
  s += "</svg>\n";
  return s;
}

}  // namespace mvtag
