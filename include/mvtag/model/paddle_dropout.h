// Paddle fluid's default dropout ("downgrade_in_infer"), used by the original at its three
// drop_rate sites (text feature, image and audio LSTM outputs; scenario_lib/models/attention_lstm_ernie.py):
// training multiplies by a 0/1 keep mask (keep probability 1 − p) with no rescaling;
// evaluation multiplies by (1 − p). torch's dropout (upscale-in-train) differs.
#pragma once

#include <torch/types.h>

namespace mvtag {

torch::Tensor paddle_dropout(const torch::Tensor& x, double p, bool training);

}  // namespace mvtag
