// Attention pooling of a branch's LSTM outputs over each video's real steps (the original's
// scenario_lib/models/attention_lstm_ernie.py).
//
// Text-guided (lstm_pool_mode "text_guide"): e_t = tanh(tanh_fc([S_t, u])), s_t = score_fc(e_t),
// α = softmax of s over the real steps, v = Σ_t α_t·S_t. Self-attention (any other mode):
// s_t = score_fc(S_t), same softmax and sum.
//
// Parameters: tanh_fc.weight [D, D + text_dim] (columns [S part | text part]), tanh_fc.bias [D]
// (text-guided only); score_fc.weight [1, D], score_fc.bias [1]. Xavier-uniform weights, zero biases.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

namespace mvtag {

class AttentionPoolImpl : public torch::nn::Module {
 public:
  AttentionPoolImpl(std::int64_t seq_dim, std::int64_t text_dim, bool text_guided);

  // seq [B, T, D] (zeros at padding), lengths [B] int64 (1 ≤ len ≤ T), text [B, text_dim]
  // (ignored by self-attention). Returns the pooled [B, D].
  torch::Tensor forward(const torch::Tensor& seq, const torch::Tensor& lengths, const torch::Tensor& text);
  // The attention weights α [B, T] (0 at padding).
  torch::Tensor weights(const torch::Tensor& seq, const torch::Tensor& lengths, const torch::Tensor& text);

  bool text_guided() const { return !tanh_fc.is_empty(); }

  torch::nn::Linear tanh_fc{nullptr}, score_fc{nullptr};

 private:
  std::int64_t seq_dim_;
};
TORCH_MODULE(AttentionPool);

}  // namespace mvtag
