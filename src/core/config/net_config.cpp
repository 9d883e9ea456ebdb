#include "mvtag/core/config/net_config.h"

#include <nlohmann/json.hpp>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/base/json_fields.h"
#include "mvtag/core/base/limits.h"

namespace mvtag {

using nlohmann::json;

namespace {

// The same error with its key named as "ernie.<key>", so that it points into model.json.
Error within_ernie(const Error& e) {
  Location where = e.where();
  where.key = where.key.empty() ? "ernie" : "ernie." + where.key;
  return Error(e.kind(), e.message(), where);
}

}  // namespace

json net_config_to_json(const NetConfig& c) {
  json j;
  j["ernie"] = ernie_config_to_json(c.ernie);
  j["rgb_dim"] = c.rgb_dim;
  j["audio_dim"] = c.audio_dim;
  j["lstm_size_img"] = c.lstm_size_img;
  j["lstm_size_audio"] = c.lstm_size_audio;
  j["num_classes"] = c.num_classes;
  j["textcnn_filters"] = c.textcnn_filters;
  j["drop_rate"] = c.drop_rate;
  j["lstm_pool_mode"] = c.lstm_pool_mode;
  j["loss_type"] = c.loss_type;
  j["ernie_freeze"] = c.ernie_freeze;
  return j;
}

NetConfig net_config_from_json(const json& j, const std::string& source) {
  JsonFields r(j, source);
  NetConfig c;
  const json& ernie = r.at("ernie");
  try {
    c.ernie = ernie_config_from_json(ernie, source, /*strict=*/true);
  } catch (const Error& e) {
    throw within_ernie(e);
  }
  c.rgb_dim = r.get_int("rgb_dim");
  c.audio_dim = r.get_int("audio_dim");
  c.lstm_size_img = r.get_int("lstm_size_img");
  c.lstm_size_audio = r.get_int("lstm_size_audio");
  c.num_classes = r.get_int("num_classes");
  c.textcnn_filters = r.get_int("textcnn_filters");
  c.drop_rate = r.get_double("drop_rate");
  c.lstm_pool_mode = r.get_string("lstm_pool_mode");
  c.loss_type = r.get_string("loss_type");
  c.ernie_freeze = r.get_bool("ernie_freeze");
  r.reject_unknown();
  validate_net_config(c, source);
  return c;
}

double net_parameter_estimate(const NetConfig& c) {
  const auto d = [](std::int64_t v) { return static_cast<double>(v); };
  // Bidirectional LSTMs (4 gates over input and hidden state), the TextCNN's windows 2, 3 and 4,
  // the attention and the classifier over the fused features.
  const double lstms = 2 * 4 * d(c.lstm_size_img) * (d(c.rgb_dim) + d(c.lstm_size_img)) +
                       2 * 4 * d(c.lstm_size_audio) * (d(c.audio_dim) + d(c.lstm_size_audio));
  const double textcnn = 9 * d(c.textcnn_filters) * d(c.ernie.hidden_size);
  const double attention = 2 * d(c.lstm_size_img) * d(c.text_dim()) + 2 * d(c.lstm_size_audio) * d(c.text_dim());
  const double classifier = d(c.num_classes) * (2 * d(c.lstm_size_img) + 2 * d(c.lstm_size_audio) + d(c.text_dim()));
  return ernie_parameter_estimate(c.ernie) + lstms + textcnn + attention + classifier;
}

void validate_net_config(const NetConfig& c, const std::string& source) {
  try {
    validate_ernie_config(c.ernie, source);
  } catch (const Error& e) {
    throw within_ernie(e);
  }
  check_positive(c.rgb_dim, "rgb_dim", source);
  check_positive(c.audio_dim, "audio_dim", source);
  check_positive(c.lstm_size_img, "lstm_size_img", source);
  check_positive(c.lstm_size_audio, "lstm_size_audio", source);
  check_positive(c.num_classes, "num_classes", source);
  check_positive(c.textcnn_filters, "textcnn_filters", source);
  check_probability(c.drop_rate, "drop_rate", source);
  const double params = net_parameter_estimate(c);
  if (params > limits::kMaxModelParameters) {
    throw_error(ErrorKind::Config,
                "the network (rgb_dim " + std::to_string(c.rgb_dim) + ", audio_dim " + std::to_string(c.audio_dim) +
                    ", lstm_size_img " + std::to_string(c.lstm_size_img) + ", lstm_size_audio " +
                    std::to_string(c.lstm_size_audio) + ", textcnn_filters " + std::to_string(c.textcnn_filters) +
                    ", num_classes " + std::to_string(c.num_classes) + ") makes about " + std::to_string(params / 1e9) +
                    " billion weights, above the limit of " + std::to_string(limits::kMaxModelParameters / 1e9) +
                    " billion (kMaxModelParameters)",
                at_file(source));
  }
  if (c.loss_type != "sigmoid" && c.loss_type != "softmax") {
    throw_error(ErrorKind::Config, "expected \"sigmoid\" or \"softmax\", got \"" + c.loss_type + "\"",
                at_key(source, "loss_type"));
  }
}

NetConfig read_net_config(const std::string& path) { return net_config_from_json(read_json_file(path), path); }

void write_net_config(const std::string& path, const NetConfig& config) {
  write_file_atomic(path, net_config_to_json(config).dump(2) + "\n");
}

NetConfig net_config_from(const Config& cfg, const ErnieConfig& ernie) {
  NetConfig n;
  n.ernie = ernie;
  n.rgb_dim = cfg.model.rgb_dim();
  n.audio_dim = cfg.model.audio_dim();
  n.lstm_size_img = cfg.model.lstm_size_img;
  n.lstm_size_audio = cfg.model.lstm_size_audio;
  n.num_classes = cfg.model.num_classes;
  n.drop_rate = cfg.model.drop_rate;
  n.lstm_pool_mode = cfg.model.lstm_pool_mode;
  n.loss_type = cfg.train.loss_type;
  n.ernie_freeze = cfg.model.ernie_freeze;
  validate_net_config(n, cfg.source);
  if (cfg.model.text_max_len > ernie.max_position_embeddings) {
    Location where = at_file(cfg.source);
    where.key = "MODEL.text_max_len";
    throw_error(ErrorKind::Config,
                std::to_string(cfg.model.text_max_len) + " is more than the encoder's " +
                    std::to_string(ernie.max_position_embeddings) + " positions",
                where);
  }
  return n;
}

}  // namespace mvtag
