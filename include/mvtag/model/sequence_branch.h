// One frame-feature branch (image or audio; the original's scenario_lib/models/attention_lstm_ernie.py):
// a forward and a reverse peephole LSTM, each behind its own input projection, outputs concatenated
// [h_fwd, h_bwd], Paddle-style dropout, then attention pooling.
//
// The original is inconsistent about which projection has a bias: image has
// none on the forward fc and one on the backward fc; audio the reverse. Both are kept.
//
// Parameters: fwd_proj.weight [4H, in] (+ fwd_proj.bias [4H] if it has one), fwd_lstm.*,
// bwd_proj.weight [4H, in] (+ bwd_proj.bias), bwd_lstm.*, attention.* (see peephole_lstm.h,
// attention_pool.h).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include "mvtag/model/attention_pool.h"
#include "mvtag/model/int8_linear.h"
#include "mvtag/model/peephole_lstm.h"

namespace mvtag {

struct SequenceBranchOptions {
  std::int64_t input_dim = 0;
  std::int64_t hidden_size = 0;
  std::int64_t text_dim = 0;
  bool fwd_proj_bias = false;
  bool bwd_proj_bias = false;
  bool text_guided = true;
};

class SequenceBranchImpl : public torch::nn::Module {
 public:
  explicit SequenceBranchImpl(const SequenceBranchOptions& options);

  // x [B, T, in], lengths [B] → [B, T, 2H] = [h_fwd, h_bwd], zeros at padding (before dropout).
  torch::Tensor encode(const torch::Tensor& x, const torch::Tensor& lengths);
  // Full branch: encode, Paddle dropout with drop_rate, attention pooling guided by `text`
  // ([B, text_dim], already dropped). Returns [B, 2H].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& lengths, const torch::Tensor& text,
                        double drop_rate);

  torch::nn::Linear fwd_proj{nullptr}, bwd_proj{nullptr};
  // --precision int8 (model/precision.h): the projections with the LSTM gate bias folded in,
  // int8; when set they replace fwd_proj / bwd_proj (inference only).
  Int8LinearPtr fwd_proj_int8, bwd_proj_int8;
  PeepholeLstm fwd_lstm{nullptr}, bwd_lstm{nullptr};
  AttentionPool attention{nullptr};
};
TORCH_MODULE(SequenceBranch);

}  // namespace mvtag
