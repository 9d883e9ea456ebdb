#include "mvtag/model/ernie.h"

#include <cmath>

#include <torch/torch.h>

#include "mvtag/model/param_init.h"

namespace mvtag {

namespace {

namespace nn = torch::nn;

nn::Linear ernie_linear(std::int64_t in, std::int64_t out, double std) {
  nn::Linear fc(nn::LinearOptions(in, out));
  truncated_normal(fc->weight, std);
  torch::NoGradGuard no_grad;
  fc->bias.zero_();
  return fc;
}

nn::LayerNorm ernie_norm(const ErnieConfig& c) {
  // LayerNorm's own init is already weight 1, bias 0.
  return nn::LayerNorm(nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps));
}

nn::Embedding ernie_embedding(std::int64_t rows, std::int64_t dim, double std) {
  nn::Embedding e(nn::EmbeddingOptions(rows, dim));
  truncated_normal(e->weight, std);
  return e;
}

// The int8 stand-in when there is one, else the float Linear.
torch::Tensor run_linear(const nn::Linear& fc, const Int8LinearPtr& int8, const torch::Tensor& x) {
  return int8 ? int8->forward(x) : fc.ptr()->forward(x);
}

}  // namespace

torch::Tensor key_padding_bias(const torch::Tensor& lengths, std::int64_t max_len, const torch::TensorOptions& options) {
  const auto steps = torch::arange(max_len, lengths.options());
  const auto padded = steps.unsqueeze(0) >= lengths.unsqueeze(1);  // [B, L]
  return (padded.to(options) * -10000.0).view({lengths.size(0), 1, 1, max_len});
}

ErnieAttentionImpl::ErnieAttentionImpl(const ErnieConfig& c)
    : heads_(c.num_attention_heads), dropout_(c.attention_probs_dropout_prob) {
  const auto d = c.hidden_size;
  query = register_module("query", ernie_linear(d, d, c.initializer_range));
  key = register_module("key", ernie_linear(d, d, c.initializer_range));
  value = register_module("value", ernie_linear(d, d, c.initializer_range));
  output = register_module("output", ernie_linear(d, d, c.initializer_range));
}

torch::Tensor ErnieAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& key_bias) {
  const auto b = x.size(0), l = x.size(1), d = x.size(2);
  const auto head = d / heads_;
  const auto split = [&](const torch::Tensor& t) { return t.view({b, l, heads_, head}).transpose(1, 2); };
  // The original scales q before the product (not the scores after it).
  const auto q = split(run_linear(query, query_int8, x) * (1.0 / std::sqrt(static_cast<double>(head))));
  const auto k = split(run_linear(key, key_int8, x));
  const auto v = split(run_linear(value, value_int8, x));
  auto probs = torch::softmax(torch::matmul(q, k.transpose(-2, -1)) + key_bias, -1);
  probs = torch::dropout(probs, dropout_, is_training());
  const auto context = torch::matmul(probs, v).transpose(1, 2).reshape({b, l, d});
  return run_linear(output, output_int8, context);
}

ErnieLayerImpl::ErnieLayerImpl(const ErnieConfig& c) : dropout_(c.hidden_dropout_prob) {
  attention = register_module("attention", ErnieAttention(c));
  attention_norm = register_module("attention_norm", ernie_norm(c));
  ffn_in = register_module("ffn_in", ernie_linear(c.hidden_size, c.intermediate_size, c.initializer_range));
  ffn_out = register_module("ffn_out", ernie_linear(c.intermediate_size, c.hidden_size, c.initializer_range));
  ffn_norm = register_module("ffn_norm", ernie_norm(c));
}

torch::Tensor ErnieLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& key_bias) {
  // Post-processing "dan": dropout, add the residual, then LayerNorm.
  const auto attended = torch::dropout(attention(x, key_bias), dropout_, is_training());
  const auto x1 = attention_norm(x + attended);
  const auto ffn = torch::dropout(run_linear(ffn_out, ffn_out_int8, torch::relu(run_linear(ffn_in, ffn_in_int8, x1))), dropout_, is_training());
  return ffn_norm(x1 + ffn);
}

ErnieImpl::ErnieImpl(const ErnieConfig& c) : config_(c) {
  validate_ernie_config(c, "ErnieConfig");
  const auto d = c.hidden_size;
  word_embeddings = register_module("word_embeddings", ernie_embedding(c.vocab_size, d, c.initializer_range));
  position_embeddings =
      register_module("position_embeddings", ernie_embedding(c.max_position_embeddings, d, c.initializer_range));
  sentence_embeddings =
      register_module("sentence_embeddings", ernie_embedding(c.type_vocab_size, d, c.initializer_range));
  embedding_norm = register_module("embedding_norm", ernie_norm(c));
  layers = register_module("layers", nn::ModuleList());
  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(ErnieLayer(c));
}

torch::Tensor ErnieImpl::forward(const torch::Tensor& ids, const torch::Tensor& lengths) {
  const auto l = ids.size(1);
  const auto positions = torch::arange(l, ids.options()).unsqueeze(0);
  // Sentence ids are all 0: one row of the sentence table, broadcast.
  const auto sentence = sentence_embeddings->weight[0];
  auto x = word_embeddings(ids) + position_embeddings(positions) + sentence;
  x = torch::dropout(embedding_norm(x), config_.hidden_dropout_prob, is_training());
  const auto bias = key_padding_bias(lengths, l, x.options());
  for (const auto& layer : *layers) x = layer->as<ErnieLayer>()->forward(x, bias);
  // --precision bf16 runs the encoder in bfloat16; its readers (TextCNN, the cache) get float32.
  return x.scalar_type() == torch::kBFloat16 ? x.to(torch::kFloat32) : x;
}

}  // namespace mvtag
