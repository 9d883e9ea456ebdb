#include "mvtag/model/textcnn.h"

#include <array>
#include <limits>

#include <torch/torch.h>

#include "mvtag/model/param_init.h"
#include "mvtag/model/sequence_mask.h"

namespace mvtag {

namespace {

torch::nn::Conv1d make_conv(std::int64_t input_dim, std::int64_t filters, std::int64_t window) {
  torch::nn::Conv1d conv(torch::nn::Conv1dOptions(input_dim, filters, window).bias(true));
  xavier_uniform(conv->weight, window * input_dim, filters);
  torch::NoGradGuard no_grad;
  conv->bias.zero_();
  return conv;
}

}  // namespace

TextCnnImpl::TextCnnImpl(std::int64_t input_dim, std::int64_t filters) {
  conv2 = register_module("conv2", make_conv(input_dim, filters, 2));
  conv3 = register_module("conv3", make_conv(input_dim, filters, 3));
  conv4 = register_module("conv4", make_conv(input_dim, filters, 4));
}

torch::Tensor TextCnnImpl::forward(const torch::Tensor& seq, const torch::Tensor& lengths) {
  const auto valid = sequence_mask(lengths, seq.size(1));  // [B, L]
  // Zero the padded rows: the windows of the last real steps must see zeros there, as in Paddle.
  const auto x = seq.masked_fill(valid.logical_not().unsqueeze(2), 0.0).transpose(1, 2);  // [B, D, L]
  const auto padded_steps = valid.logical_not().unsqueeze(1);                              // [B, 1, L]
  const std::pair<torch::nn::Conv1d*, std::array<std::int64_t, 2>> convs[] = {
      {&conv2, {1, 0}}, {&conv3, {1, 1}}, {&conv4, {2, 1}}};
  std::vector<torch::Tensor> pooled;
  for (const auto& [conv, pad] : convs) {
    const auto out = torch::tanh((*conv)(torch::constant_pad_nd(x, {pad[0], pad[1]})));  // [B, F, L]
    pooled.push_back(
        std::get<0>(out.masked_fill(padded_steps, -std::numeric_limits<double>::infinity()).max(2)));
  }
  return torch::cat(pooled, 1);
}

}  // namespace mvtag
