#include <gtest/gtest.h>

#include "mvtag/core/report/training_plot.h"

using namespace mvtag;

namespace {
int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}
}  // namespace

TEST(TrainingPlot, DrawsOnePolylinePerSeriesAndAPointPerEpoch) {
  std::vector<EpochPoint> pts;
  for (int e = 1; e <= 3; ++e) {
    EpochPoint p;
    p.epoch = e;
    p.train_loss = 10.0 / e;
    p.train_hit1 = 20.0 * e;
    if (e != 2) {  // validation only on some epochs
      p.val_loss = 11.0 / e;
      p.val_hit1 = 18.0 * e;
    }
    pts.push_back(p);
  }
  const std::string svg = training_curve_svg(pts, "run <a&b>");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_EQ(count(svg, "<polyline"), 4);         // train/val x loss/Hit@1
  EXPECT_EQ(count(svg, "<circle"), 3 + 2 + 3 + 2);
  EXPECT_NE(svg.find("run &lt;a&amp;b&gt;"), std::string::npos);
}

TEST(TrainingPlot, SinglePointAndFlatSeriesStayFinite) {
  EpochPoint p;
  p.epoch = 1;
  p.train_loss = 5;
  p.train_hit1 = 5;
  const std::string svg = training_curve_svg({p}, "one");
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);
  EXPECT_EQ(count(svg, "<polyline"), 2);
}
