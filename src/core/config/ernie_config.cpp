#include "mvtag/core/config/ernie_config.h"

#include <set>

#include <nlohmann/json.hpp>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/base/json_fields.h"
#include "mvtag/core/base/limits.h"

namespace mvtag {

namespace {

using nlohmann::json;

const std::set<std::string>& written_keys() {
  static const std::set<std::string> keys = {
      "vocab_size",          "hidden_size",
      "num_hidden_layers",   "num_attention_heads",
      "intermediate_size",   "max_position_embeddings",
      "type_vocab_size",     "hidden_dropout_prob",
      "attention_probs_dropout_prob", "layer_norm_eps",
      "hidden_act",          "initializer_range"};
  return keys;
}

}  // namespace

ErnieConfig ernie_config_from_json(const json& j, const std::string& source, bool strict) {
  JsonFields f(j, source);
  if (strict) {
    for (const auto& item : j.items()) {
      if (!written_keys().count(item.key())) throw_error(ErrorKind::Config, "unknown key", at_key(source, item.key()));
    }
    for (const auto& key : written_keys()) f.require(key);
  }
  for (const char* key : {"vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                          "max_position_embeddings", "hidden_act", "hidden_dropout_prob",
                          "attention_probs_dropout_prob"}) {
    f.require(key);
  }
  if (f.has("use_task_id")) {
    const json& v = f.at("use_task_id");
    if (!v.is_boolean()) f.bad_value("use_task_id", "a boolean", v);
    if (v.get<bool>()) throw_error(ErrorKind::Config, "task embeddings not supported", at_key(source, "use_task_id"));
  }

  ErnieConfig c;
  c.vocab_size = f.get_int("vocab_size");
  c.hidden_size = f.get_int("hidden_size");
  c.num_hidden_layers = f.get_int("num_hidden_layers");
  c.num_attention_heads = f.get_int("num_attention_heads");
  c.max_position_embeddings = f.get_int("max_position_embeddings");
  // The original reads sent_type_vocab_size first and falls back to type_vocab_size.
  c.type_vocab_size = f.get_int(f.has("sent_type_vocab_size") ? "sent_type_vocab_size" : "type_vocab_size");
  c.intermediate_size = f.has("intermediate_size") ? f.get_int("intermediate_size") : 4 * c.hidden_size;
  c.hidden_dropout_prob = f.get_double("hidden_dropout_prob");
  c.attention_probs_dropout_prob = f.get_double("attention_probs_dropout_prob");
  if (f.has("layer_norm_eps")) c.layer_norm_eps = f.get_double("layer_norm_eps");
  if (f.has("initializer_range")) c.initializer_range = f.get_double("initializer_range");
  c.hidden_act = f.get_string("hidden_act");
  validate_ernie_config(c, source);
  return c;
}

json ernie_config_to_json(const ErnieConfig& c) {
  json j;
  j["attention_probs_dropout_prob"] = c.attention_probs_dropout_prob;
  j["hidden_act"] = c.hidden_act;
  j["hidden_dropout_prob"] = c.hidden_dropout_prob;
  j["hidden_size"] = c.hidden_size;
  j["initializer_range"] = c.initializer_range;
  j["intermediate_size"] = c.intermediate_size;
  j["layer_norm_eps"] = c.layer_norm_eps;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["type_vocab_size"] = c.type_vocab_size;
  j["vocab_size"] = c.vocab_size;
  return j;
}

double ernie_parameter_estimate(const ErnieConfig& c) {
  const double h = static_cast<double>(c.hidden_size);
  const double embeddings = (static_cast<double>(c.vocab_size) + static_cast<double>(c.max_position_embeddings) +
                             static_cast<double>(c.type_vocab_size)) * h;
  const double layer = 4 * h * h + 2 * h * static_cast<double>(c.intermediate_size);
  return embeddings + static_cast<double>(c.num_hidden_layers) * layer + h * h;
}

void validate_ernie_config(const ErnieConfig& c, const std::string& source) {
  check_positive(c.vocab_size, "vocab_size", source);
  check_positive(c.hidden_size, "hidden_size", source);
  check_positive(c.num_hidden_layers, "num_hidden_layers", source);
  check_positive(c.num_attention_heads, "num_attention_heads", source);
  check_positive(c.intermediate_size, "intermediate_size", source);
  check_positive(c.max_position_embeddings, "max_position_embeddings", source);
  check_positive(c.type_vocab_size, "type_vocab_size", source);
  if (c.hidden_size % c.num_attention_heads != 0) {
    throw_error(ErrorKind::Config,
                "hidden_size " + std::to_string(c.hidden_size) + " is not divisible by num_attention_heads " +
                    std::to_string(c.num_attention_heads),
                at_key(source, "num_attention_heads"));
  }
  const double params = ernie_parameter_estimate(c);
  if (params > limits::kMaxModelParameters) {
    throw_error(ErrorKind::Config,
                "vocab_size " + std::to_string(c.vocab_size) + ", hidden_size " + std::to_string(c.hidden_size) +
                    ", num_hidden_layers " + std::to_string(c.num_hidden_layers) + ", intermediate_size " +
                    std::to_string(c.intermediate_size) + " and max_position_embeddings " +
                    std::to_string(c.max_position_embeddings) + " make about " + std::to_string(params / 1e9) +
                    " billion weights, above the limit of " + std::to_string(limits::kMaxModelParameters / 1e9) +
                    " billion (kMaxModelParameters)",
                at_file(source));
  }
  check_probability(c.hidden_dropout_prob, "hidden_dropout_prob", source);
  check_probability(c.attention_probs_dropout_prob, "attention_probs_dropout_prob", source);
  if (!(c.layer_norm_eps > 0.0)) throw_error(ErrorKind::Config, "must be positive", at_key(source, "layer_norm_eps"));
  if (!(c.initializer_range >= 0.0)) throw_error(ErrorKind::Config, "must not be negative", at_key(source, "initializer_range"));
  if (c.hidden_act != "relu") {
    throw_error(ErrorKind::Config, "unsupported activation '" + c.hidden_act + "' (only \"relu\", as in ERNIE 1.0)",
                at_key(source, "hidden_act"));
  }
}

ErnieConfig read_ernie_config(const std::string& path) { return ernie_config_from_json(read_json_file(path), path); }

void write_ernie_config(const std::string& path, const ErnieConfig& config) {
  write_file_atomic(path, ernie_config_to_json(config).dump(2) + "\n");
}

}  // namespace mvtag
