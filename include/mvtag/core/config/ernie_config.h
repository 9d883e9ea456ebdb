// The ERNIE encoder's hyper-parameters, read from the original's Paddle `ernie_config.json` or a
// HuggingFace-style `config.json`, and written back as JSON (the same keys, readable by both paths).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace mvtag {

// Defaults are ERNIE 1.0 base (Chinese), the encoder the original uses (the ernie_config.json of
// its model_pretrained/ernie_v1_params/, from download.sh).
struct ErnieConfig {
  std::int64_t vocab_size = 18000;
  std::int64_t hidden_size = 768;
  std::int64_t num_hidden_layers = 12;
  std::int64_t num_attention_heads = 12;
  std::int64_t intermediate_size = 3072;  // the original hard-codes 4 × hidden_size
  std::int64_t max_position_embeddings = 513;
  std::int64_t type_vocab_size = 2;
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  double layer_norm_eps = 1e-5;  // Paddle's layer_norm default; the Paddle config has no key
  std::string hidden_act = "relu";  // the only activation the network implements
  double initializer_range = 0.02;

  std::int64_t head_size() const { return hidden_size / num_attention_heads; }
};

// Reads either format. Required: vocab_size, hidden_size, num_hidden_layers,
// num_attention_heads, max_position_embeddings, hidden_act, hidden_dropout_prob,
// attention_probs_dropout_prob, and type_vocab_size or sent_type_vocab_size (the latter wins,
// as in the original). Optional: intermediate_size (4 × hidden_size), layer_norm_eps (1e-5),
// initializer_range (0.02). Other keys are ignored, except `use_task_id: true` (task embeddings
// are not supported). Errors are Error(Config) naming `source` and the key.
// strict = true (used inside model.json) requires exactly the keys that to_json writes.
ErnieConfig ernie_config_from_json(const nlohmann::json& j, const std::string& source, bool strict = false);
nlohmann::json ernie_config_to_json(const ErnieConfig& config);

ErnieConfig read_ernie_config(const std::string& path);
void write_ernie_config(const std::string& path, const ErnieConfig& config);

// The encoder's weight count, from its big matrices (embeddings, attention, feed-forward).
double ernie_parameter_estimate(const ErnieConfig& config);

// Throws Error(Config) naming `source` and the key when a value is out of range
// (sizes must be positive, hidden_size divisible by num_attention_heads, dropouts in [0, 1),
// the weight count within limits::kMaxModelParameters).
void validate_ernie_config(const ErnieConfig& config, const std::string& source);

}  // namespace mvtag
