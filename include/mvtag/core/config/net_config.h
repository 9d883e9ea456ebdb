// The network's hyper-parameters: everything needed to rebuild the model that a weights file
// belongs to. Stored as `model.json` next to `model.safetensors`.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "mvtag/core/config/config.h"
#include "mvtag/core/config/ernie_config.h"

namespace mvtag {

// Defaults are the original's conf/conf.txt values (docs/CONFIG.md lists every key).
struct NetConfig {
  ErnieConfig ernie;
  std::int64_t rgb_dim = 2048;
  std::int64_t audio_dim = 128;
  std::int64_t lstm_size_img = 512;
  std::int64_t lstm_size_audio = 128;
  std::int64_t num_classes = 110;
  std::int64_t textcnn_filters = 256;
  double drop_rate = 0.5;
  std::string lstm_pool_mode = "text_guide";  // "text_guide"; any other value = self-attention
  std::string loss_type = "sigmoid";          // "sigmoid" or "softmax"
  bool ernie_freeze = true;

  bool text_guided() const { return lstm_pool_mode == "text_guide"; }
  // Width of the text feature (TextCNN windows 2, 3, 4).
  std::int64_t text_dim() const { return 3 * textcnn_filters; }
  // Width of the final concatenation [image 2·H_img, audio 2·H_aud, text 3·filters].
  std::int64_t fusion_dim() const { return 2 * lstm_size_img + 2 * lstm_size_audio + text_dim(); }
};

nlohmann::json net_config_to_json(const NetConfig& config);
// Every key is required and unknown keys are rejected; errors are Error(Config) naming
// `source` and the key.
NetConfig net_config_from_json(const nlohmann::json& j, const std::string& source);

NetConfig read_net_config(const std::string& path);
void write_net_config(const std::string& path, const NetConfig& config);

// The network's weight count, estimated from its big matrices (ERNIE, LSTMs, TextCNN, classifier).
double net_parameter_estimate(const NetConfig& config);

// Throws Error(Config) naming `source` and the key for out-of-range values, or naming `source`
// when the weight count is above limits::kMaxModelParameters.
void validate_net_config(const NetConfig& config, const std::string& source);

// The network the configuration describes, with the encoder sizes of `ernie`.
NetConfig net_config_from(const Config& config, const ErnieConfig& ernie);

}  // namespace mvtag
