// One direction of Paddle's fluid.layers.dynamic_lstm with use_peepholes=True, over padded batches.
//
// Gate blocks in every 4H vector are in Paddle's order [c̃, i, f, o]. With a = G_t + W·h_{t−1} + b:
//   c̃ = tanh(a_c); i = σ(a_i + w_ic ⊙ c_{t−1}); f = σ(a_f + w_fc ⊙ c_{t−1});
//   c_t = c̃ ⊙ i + c_{t−1} ⊙ f; o = σ(a_o + w_oc ⊙ c_t)  (the output peephole sees the *new* cell);
//   h_t = o ⊙ tanh(c_t); h_{−1} = c_{−1} = 0.
// A reverse direction runs each sequence from its own last real step to its first; no direction
// ever reads padding. Outputs at padded steps are 0.
//
// Parameters (kept in Paddle's gate order so importing is a transpose, not a reshuffle):
//   weight_hh [4H, H]  = Paddle lstm_N.w_0 [H, 4H] transposed (gates += weight_hh · h),
//   bias      [4H]     = Paddle lstm_N.b_0[0, 0:4H],
//   peephole  [3H]     = Paddle lstm_N.b_0[0, 4H:7H] = [w_ic, w_fc, w_oc].
// The input projection G (an fc in the original) is computed outside, one matmul per direction.
//
// Two implementations of the recurrence give the same numbers (to float rounding):
//   * fused (peephole_lstm_fused): the whole recurrence of one direction as one autograd node,
//     one GEMM plus one hand-written elementwise pass per step, and a hand-written
//     backpropagation through time. CPU float32/float64 only.
//   * reference (forward_gates_reference): ~10 ATen ops per step, each recorded by autograd;
//     runs on any device and dtype.
// forward_gates takes the fused path where it can (CPU float/double, fused() true) and the
// reference path otherwise (CUDA, half precision, or set_fused(false)).
#pragma once

#include <torch/nn/module.h>

namespace mvtag {

// Whether peephole_lstm_fused accepts these tensors: all on the CPU, gates float32 or float64
// and weight_hh/peephole of the same dtype.
bool fused_lstm_supported(const torch::Tensor& gates, const torch::Tensor& weight_hh, const torch::Tensor& peephole);

// The fused recurrence (see above): gates [B, T, 4H] with the bias folded in, weight_hh [4H, H],
// peephole [3H], lengths [B] int64. Returns [B, T, H], zero at padded steps. Differentiable
// (once) w.r.t. gates, weight_hh and peephole; saves nothing for backward when grad mode is off
// or none of them requires grad.
torch::Tensor peephole_lstm_fused(const torch::Tensor& gates, const torch::Tensor& weight_hh,
                                  const torch::Tensor& peephole, const torch::Tensor& lengths, bool reverse);

class PeepholeLstmImpl : public torch::nn::Module {
 public:
  // Xavier-uniform weight on Paddle's [H, 4H] shape, zero bias and peepholes.
  PeepholeLstmImpl(std::int64_t hidden_size, bool reverse);

  // projected [B, T, 4H]: the input projection without this LSTM's bias; lengths [B] int64,
  // 1 ≤ len ≤ T. Returns [B, T, H].
  torch::Tensor forward(const torch::Tensor& projected, const torch::Tensor& lengths);
  // Same, with `gates` already including `bias` (so a caller can fold it into its projection).
  torch::Tensor forward_gates(const torch::Tensor& gates, const torch::Tensor& lengths);
  // The op-by-op implementation, on any device and dtype.
  torch::Tensor forward_gates_reference(const torch::Tensor& gates, const torch::Tensor& lengths);

  // Whether forward_gates may take the fused path (default true).
  void set_fused(bool fused) { fused_ = fused; }
  bool fused() const { return fused_; }

  std::int64_t hidden_size() const { return hidden_; }
  bool reverse() const { return reverse_; }

  torch::Tensor weight_hh, bias, peephole;

 private:
  std::int64_t hidden_;
  bool reverse_;
  bool fused_ = true;
};
TORCH_MODULE(PeepholeLstm);

}  // namespace mvtag
