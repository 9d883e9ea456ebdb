// How the original's Paddle parameters map onto ours (docs/FORMATS.md, "Parameters").
//
// Paddle names come from the original's unique-name counters: ERNIE's fc calls consume the first
// 6 × num_hidden_layers "fc" numbers (72 for ERNIE base), so the app's own fcs are fc_<6L> ...
// fc_<6L+4> in text_guide mode and fc_<6L> ... fc_<6L+6> in self-attention mode, where the
// attention scores are fcs of their own and there are no seq2seq_attention_* parameters.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mvtag/core/config/ernie_config.h"
#include "mvtag/core/config/net_config.h"
#include "mvtag/core/formats/safetensors.h"

namespace mvtag {

struct ParamSpec {
  std::string name;
  std::vector<std::int64_t> shape;
};

enum class ParamTransform {
  Same,        // identical layout: embeddings, biases, LayerNorm
  Transpose,   // fc weight: Paddle [in, out] (y = x·W + b) -> ours [out, in]
  ConvFilter,  // sequence_conv filter [k·D, F] -> conv1d weight [F, D, k]: ours[o, d, j] = W[j·D + d, o]
  LstmBias,    // dynamic_lstm bias [1, 7H] -> gate bias [4H] + peepholes [3H] (w_ic, w_fc, w_oc)
};

struct ParamMapping {
  ParamSpec paddle;
  ParamTransform transform = ParamTransform::Same;
  std::vector<ParamSpec> ours;  // one tensor; two (gate bias, peephole) for LstmBias
};

// The ERNIE encoder under the ERNIE 1.0 release's names (word_embedding, pre_encoder_layer_norm_*,
// encoder_layer_<i>_...), in our module order.
std::vector<ParamMapping> paddle_ernie_mapping(const ErnieConfig& config);

// Every parameter of the network as the original's training checkpoint holds it, sorted by Paddle
// name exactly as Python's sorted() sorts str: the order of a combined `param` file.
std::vector<ParamMapping> paddle_checkpoint_mapping(const NetConfig& config);

// Our ernie.* tensors (names and shapes) for a configuration, in module order.
std::vector<ParamSpec> ernie_parameter_specs(const ErnieConfig& config);

// Our tensors from the Paddle one, whose shape must be m.paddle.shape (any dtype).
std::vector<NamedArray> paddle_to_ours(const ParamMapping& m, const NDArray& paddle);
// The Paddle tensor from ours, given in the order of m.ours with their shapes.
NDArray ours_to_paddle(const ParamMapping& m, const std::vector<const NDArray*>& ours);

}  // namespace mvtag
