#include "mvtag/model/attention_pool.h"

#include <limits>

#include <torch/torch.h>

#include "mvtag/model/param_init.h"
#include "mvtag/model/sequence_mask.h"

namespace mvtag {

AttentionPoolImpl::AttentionPoolImpl(std::int64_t seq_dim, std::int64_t text_dim, bool text_guided)
    : seq_dim_(seq_dim) {
  if (text_guided) tanh_fc = register_module("tanh_fc", xavier_linear(seq_dim + text_dim, seq_dim));
  score_fc = register_module("score_fc", xavier_linear(seq_dim, 1));
}

torch::Tensor AttentionPoolImpl::weights(const torch::Tensor& seq, const torch::Tensor& lengths,
                                         const torch::Tensor& text) {
  torch::Tensor hidden = seq;
  if (text_guided()) {
    // fc([S_t, u]) = W_s·S_t + (W_u·u + b): the text half is computed once per video,
    // not once per step.
    const auto w = tanh_fc->weight;
    const auto text_part = torch::linear(text, w.narrow(1, seq_dim_, w.size(1) - seq_dim_), tanh_fc->bias);
    hidden = torch::tanh(torch::linear(seq, w.narrow(1, 0, seq_dim_)) + text_part.unsqueeze(1));
  }
  const auto scores = score_fc(hidden).squeeze(2);  // [B, T]
  const auto padded = sequence_mask(lengths, seq.size(1)).logical_not();
  return torch::softmax(scores.masked_fill(padded, -std::numeric_limits<double>::infinity()), 1);
}

torch::Tensor AttentionPoolImpl::forward(const torch::Tensor& seq, const torch::Tensor& lengths,
                                         const torch::Tensor& text) {
  const auto alpha = weights(seq, lengths, text);  // [B, T]
  return torch::bmm(alpha.unsqueeze(1), seq).squeeze(1);
}

}  // namespace mvtag
