// ERNIE 1.0 encoder as the original runs it (scenario_lib/models/ernie.py, transformer_encoder.py):
// word + position + sentence embeddings, LayerNorm then dropout, post-LN Transformer layers with a
// ReLU feed-forward, an additive −10000 mask on padded keys, no task embedding and no final
// LayerNorm. Any size from ErnieConfig.
//
// Dropouts are upscale-in-train and follow the module's training flag only: the original keeps
// them active while training even when ERNIE is frozen (freezing stops gradients, nothing else).
//
// Parameter names (torch layout, Linear weights are [out, in]):
//   word_embeddings.weight [vocab, D], position_embeddings.weight [max_pos, D],
//   sentence_embeddings.weight [type_vocab, D], embedding_norm.{weight,bias} [D],
//   layers.<i>.attention.{query,key,value,output}.{weight [D, D], bias [D]},
//   layers.<i>.attention_norm.{weight,bias} [D],
//   layers.<i>.ffn_in.{weight [I, D], bias [I]}, layers.<i>.ffn_out.{weight [D, I], bias [D]},
//   layers.<i>.ffn_norm.{weight,bias} [D].
//
// Reduced precision (model/precision.h, inference only): the *_int8 members, when set, run in
// place of the Linear of the same name (the Linear keeps the float32 weights); an ERNIE cast to
// bfloat16 returns its output as float32.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "mvtag/core/config/ernie_config.h"
#include "mvtag/model/int8_linear.h"

namespace mvtag {

class ErnieAttentionImpl : public torch::nn::Module {
 public:
  explicit ErnieAttentionImpl(const ErnieConfig& config);
  // x [B, L, D]; key_bias [B, 1, 1, L] (0 for real keys, −10000 for padding) → [B, L, D].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& key_bias);

  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr}, output{nullptr};
  Int8LinearPtr query_int8, key_int8, value_int8, output_int8;

 private:
  std::int64_t heads_;
  double dropout_;
};
TORCH_MODULE(ErnieAttention);

class ErnieLayerImpl : public torch::nn::Module {
 public:
  explicit ErnieLayerImpl(const ErnieConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& key_bias);

  ErnieAttention attention{nullptr};
  torch::nn::LayerNorm attention_norm{nullptr};
  torch::nn::Linear ffn_in{nullptr}, ffn_out{nullptr};
  Int8LinearPtr ffn_in_int8, ffn_out_int8;
  torch::nn::LayerNorm ffn_norm{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(ErnieLayer);

class ErnieImpl : public torch::nn::Module {
 public:
  // Initialised as the original does from scratch: weights and embeddings truncated normal
  // (std = initializer_range), biases 0, LayerNorm 1/0.
  explicit ErnieImpl(const ErnieConfig& config);

  // ids [B, L] int64 ([CLS] … [SEP] then padding), lengths [B] int64 (1 ≤ len ≤ L).
  // Position ids are 0..L−1 and sentence ids 0. Returns [B, L, D] (float32 when the module is
  // bfloat16, its own dtype otherwise); rows at t ≥ len are unspecified (the original discards
  // them too).
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& lengths);

  const ErnieConfig& config() const { return config_; }

  torch::nn::Embedding word_embeddings{nullptr}, position_embeddings{nullptr}, sentence_embeddings{nullptr};
  torch::nn::LayerNorm embedding_norm{nullptr};
  torch::nn::ModuleList layers{nullptr};

 private:
  ErnieConfig config_;
};
TORCH_MODULE(Ernie);

// [B, 1, 1, L] additive attention bias: 0 where t < lengths[b], −10000 elsewhere (for real query
// rows this equals the original's (m·mᵀ − 1)·10000, scenario_lib/models/ernie.py).
torch::Tensor key_padding_bias(const torch::Tensor& lengths, std::int64_t max_len, const torch::TensorOptions& options);

}  // namespace mvtag
