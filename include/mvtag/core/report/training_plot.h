// The training-curve picture written next to metrics.jsonl: an SVG with two panels, loss and
// Hit@1 per epoch, train and validation. Plain text, no plotting library.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace mvtag {

struct EpochPoint {
  int epoch = 0;  // 1-based
  double train_loss = 0;
  double train_hit1 = 0;  // percent
  std::optional<double> val_loss;
  std::optional<double> val_hit1;  // percent
};

std::string training_curve_svg(const std::vector<EpochPoint>& points, const std::string& title);

}  // namespace mvtag
