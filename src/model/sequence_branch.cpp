#include "mvtag/model/sequence_branch.h"

#include <torch/torch.h>

#include "mvtag/model/paddle_dropout.h"
#include "mvtag/model/param_init.h"

namespace mvtag {

namespace {

// The projection of all steps in one matmul, with the LSTM's gate bias (and the fc's, if any)
// folded into it.
torch::Tensor project(const torch::nn::Linear& proj, const Int8LinearPtr& int8, const PeepholeLstm& lstm,
                      const torch::Tensor& x) {
  if (int8) return int8->forward(x);
  const auto bias = proj->bias.defined() ? proj->bias + lstm->bias : lstm->bias;
  return torch::linear(x, proj->weight, bias);
}

}  // namespace

SequenceBranchImpl::SequenceBranchImpl(const SequenceBranchOptions& o) {
  const auto gates = 4 * o.hidden_size;
  fwd_proj = register_module("fwd_proj", xavier_linear(o.input_dim, gates, o.fwd_proj_bias));
  fwd_lstm = register_module("fwd_lstm", PeepholeLstm(o.hidden_size, /*reverse=*/false));
  bwd_proj = register_module("bwd_proj", xavier_linear(o.input_dim, gates, o.bwd_proj_bias));
  bwd_lstm = register_module("bwd_lstm", PeepholeLstm(o.hidden_size, /*reverse=*/true));
  attention = register_module("attention", AttentionPool(2 * o.hidden_size, o.text_dim, o.text_guided));
}

torch::Tensor SequenceBranchImpl::encode(const torch::Tensor& x, const torch::Tensor& lengths) {
  const auto forward_out = fwd_lstm->forward_gates(project(fwd_proj, fwd_proj_int8, fwd_lstm, x), lengths);
  const auto backward_out = bwd_lstm->forward_gates(project(bwd_proj, bwd_proj_int8, bwd_lstm, x), lengths);
  return torch::cat({forward_out, backward_out}, 2);
}

torch::Tensor SequenceBranchImpl::forward(const torch::Tensor& x, const torch::Tensor& lengths,
                                          const torch::Tensor& text, double drop_rate) {
  const auto states = paddle_dropout(encode(x, lengths), drop_rate, is_training());
  return attention(states, lengths, text);
}

}  // namespace mvtag
