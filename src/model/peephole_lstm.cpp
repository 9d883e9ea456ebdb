#include "mvtag/model/peephole_lstm.h"

#include <torch/torch.h>

#include "mvtag/model/param_init.h"
#include "mvtag/model/sequence_mask.h"

namespace mvtag {

PeepholeLstmImpl::PeepholeLstmImpl(std::int64_t hidden_size, bool reverse) : hidden_(hidden_size), reverse_(reverse) {
  weight_hh = register_parameter("weight_hh", torch::empty({4 * hidden_size, hidden_size}));
  bias = register_parameter("bias", torch::zeros({4 * hidden_size}));
  peephole = register_parameter("peephole", torch::zeros({3 * hidden_size}));
  xavier_uniform(weight_hh, hidden_size, 4 * hidden_size);
}

torch::Tensor PeepholeLstmImpl::forward(const torch::Tensor& projected, const torch::Tensor& lengths) {
  return forward_gates(projected + bias, lengths);
}

torch::Tensor PeepholeLstmImpl::forward_gates(const torch::Tensor& gates, const torch::Tensor& lengths) {
  if (fused_ && fused_lstm_supported(gates, weight_hh, peephole)) {
    return peephole_lstm_fused(gates, weight_hh, peephole, lengths, reverse_);
  }
  return forward_gates_reference(gates, lengths);
}

torch::Tensor PeepholeLstmImpl::forward_gates_reference(const torch::Tensor& gates, const torch::Tensor& lengths) {
  const auto batch = gates.size(0), steps = gates.size(1), h_size = hidden_;
  const auto valid = sequence_mask(lengths, steps);             // [B, T]
  const auto padded = valid.logical_not().unsqueeze(2);         // [B, T, 1]
  const auto w = weight_hh.t();                                 // [H, 4H]
  const auto peep_if = peephole.narrow(0, 0, 2 * h_size).view({2, h_size});
  const auto peep_o = peephole.narrow(0, 2 * h_size, h_size);

  auto h = torch::zeros({batch, h_size}, gates.options());
  auto c = torch::zeros({batch, h_size}, gates.options());
  std::vector<torch::Tensor> outputs(static_cast<std::size_t>(steps));
  for (std::int64_t n = 0; n < steps; ++n) {
    const auto t = reverse_ ? steps - 1 - n : n;
    const auto a = torch::addmm(gates.select(1, t), h, w);  // [B, 4H], blocks [c̃, i, f, o]
    const auto candidate = torch::tanh(a.narrow(1, 0, h_size));
    // Input and forget gates together: [B, 2, H] view of the i and f blocks.
    const auto i_f = torch::sigmoid(torch::addcmul(a.narrow(1, h_size, 2 * h_size).view({batch, 2, h_size}),
                                                   peep_if, c.unsqueeze(1)));
    c = torch::addcmul(candidate * i_f.select(1, 0), i_f.select(1, 1), c);
    const auto o = torch::sigmoid(torch::addcmul(a.narrow(1, 3 * h_size, h_size), peep_o, c));
    h = o * torch::tanh(c);
    if (reverse_) {
      // Steps after a sequence's end come first in reverse; reset so its last real step
      // starts from a zero state.
      const auto pad_t = padded.select(1, t);
      h = h.masked_fill(pad_t, 0.0);
      c = c.masked_fill(pad_t, 0.0);
    }
    outputs[static_cast<std::size_t>(t)] = h;
  }
  return torch::stack(outputs, 1).masked_fill(padded, 0.0);
}

}  // namespace mvtag
