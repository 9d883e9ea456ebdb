// The small network the unit tests build: every size a few units, so that a forward pass takes
// milliseconds. Header-only and free of LibTorch (the config tests use it too).
#pragma once

#include "mvtag/core/config/ernie_config.h"
#include "mvtag/core/config/net_config.h"

namespace mvtag::test {

inline ErnieConfig tiny_ernie_config() {
  ErnieConfig c;
  c.vocab_size = 40;
  c.hidden_size = 16;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.intermediate_size = 64;
  c.max_position_embeddings = 12;
  return c;
}

inline NetConfig tiny_net_config() {
  NetConfig c;
  c.ernie = tiny_ernie_config();
  c.rgb_dim = 12;
  c.audio_dim = 6;
  c.lstm_size_img = 5;
  c.lstm_size_audio = 3;
  c.num_classes = 7;
  c.textcnn_filters = 4;
  return c;
}

}  // namespace mvtag::test
