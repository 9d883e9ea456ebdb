// TextCNN on the ERNIE output (ErnieModel.textcnn in the original's scenario_lib/models/ernie.py):
// Paddle's sequence_conv_pool with windows 2, 3 and 4 over each title's real tokens ([CLS] and
// [SEP] included), zero padding outside the sequence, bias, tanh, and a max over the real steps.
// Output [B, 3·filters] = [k=2 | k=3 | k=4].
//
// Paddle's context windows (padding_start = −(k / 2)): k=2 covers t−1..t, k=3 t−1..t+1,
// k=4 t−2..t+1, i.e. conv1d with (left, right) zero padding (1, 0), (1, 1), (2, 1).
//
// Parameters: conv<k>.weight [F, D, k] (torch conv1d layout: weight[o, d, j] multiplies input
// row t + j − left), conv<k>.bias [F]. Paddle's filter W [k·D, F] maps as weight[o, d, j] = W[j·D + d, o].
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>

namespace mvtag {

class TextCnnImpl : public torch::nn::Module {
 public:
  // Xavier-uniform on Paddle's [k·D, F] filter (fan_in k·D, fan_out F), zero bias.
  TextCnnImpl(std::int64_t input_dim, std::int64_t filters);

  // seq [B, L, D], lengths [B] int64 with 1 ≤ len ≤ L. Rows at t ≥ len are ignored (zeroed).
  torch::Tensor forward(const torch::Tensor& seq, const torch::Tensor& lengths);

  torch::nn::Conv1d conv2{nullptr}, conv3{nullptr}, conv4{nullptr};
};
TORCH_MODULE(TextCnn);

}  // namespace mvtag
