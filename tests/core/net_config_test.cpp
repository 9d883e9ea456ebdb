#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "mvtag/core/base/error.h"
#include "mvtag/core/config/net_config.h"
#include "test_util.h"
#include "tiny_config.h"

using namespace mvtag;
using nlohmann::json;

namespace {

template <typename F>
Error expect_config_error(F f) {
  return mvtag::test::thrown_error(f, ErrorKind::Config);
}

json default_json() {
  const NetConfig defaults;
  return net_config_to_json(defaults);
}

}  // namespace

TEST(NetConfig, DefaultsAreTheOriginalsConfTxt) {
  const NetConfig c;
  EXPECT_EQ(c.rgb_dim, 2048);
  EXPECT_EQ(c.audio_dim, 128);
  EXPECT_EQ(c.lstm_size_img, 512);
  EXPECT_EQ(c.lstm_size_audio, 128);
  EXPECT_EQ(c.num_classes, 110);
  EXPECT_EQ(c.textcnn_filters, 256);
  EXPECT_DOUBLE_EQ(c.drop_rate, 0.5);
  EXPECT_TRUE(c.text_guided());
  EXPECT_EQ(c.loss_type, "sigmoid");
  EXPECT_TRUE(c.ernie_freeze);
  EXPECT_EQ(c.text_dim(), 768);
  EXPECT_EQ(c.fusion_dim(), 2048);  // [1024 image, 256 audio, 768 text], the original's final_concat
  EXPECT_EQ(c.ernie.hidden_size, 768);
}

TEST(NetConfig, AnyOtherPoolModeIsSelfAttention) {
  NetConfig c;
  c.lstm_pool_mode = "";
  EXPECT_FALSE(c.text_guided());
  c.lstm_pool_mode = "self";
  EXPECT_FALSE(c.text_guided());
}

TEST(NetConfig, JsonRoundTrip) {
  NetConfig c = mvtag::test::tiny_net_config();
  c.drop_rate = 0.25;
  c.lstm_pool_mode = "attention";
  c.loss_type = "softmax";
  c.ernie_freeze = false;
  const mvtag::test::TempDir dir("net_config_test");
  const std::string path = dir.file("model.json");
  write_net_config(path, c);
  const NetConfig b = read_net_config(path);
  EXPECT_EQ(b.ernie.hidden_size, 16);
  EXPECT_EQ(b.ernie.intermediate_size, 64);
  EXPECT_EQ(b.rgb_dim, 12);
  EXPECT_EQ(b.audio_dim, 6);
  EXPECT_EQ(b.lstm_size_img, 5);
  EXPECT_EQ(b.lstm_size_audio, 3);
  EXPECT_EQ(b.num_classes, 7);
  EXPECT_EQ(b.textcnn_filters, 4);
  EXPECT_DOUBLE_EQ(b.drop_rate, 0.25);
  EXPECT_EQ(b.lstm_pool_mode, "attention");
  EXPECT_EQ(b.loss_type, "softmax");
  EXPECT_FALSE(b.ernie_freeze);
  EXPECT_EQ(net_config_to_json(b), net_config_to_json(c));
}

TEST(NetConfig, EveryKeyIsRequiredAndNamed) {
  const json full = default_json();
  for (const auto& item : full.items()) {
    json j = full;
    j.erase(item.key());
    const Error e = expect_config_error([&] { net_config_from_json(j, "model.json"); });
    EXPECT_EQ(e.where().key, item.key());
    EXPECT_EQ(e.where().file, "model.json");
  }
}

TEST(NetConfig, UnknownKeysAreNamedAtBothLevels) {
  json j = default_json();
  j["embedding_size"] = 512;
  EXPECT_EQ(expect_config_error([&] { net_config_from_json(j, "model.json"); }).where().key, "embedding_size");
  j = default_json();
  j["ernie"]["use_task_id"] = false;
  EXPECT_EQ(expect_config_error([&] { net_config_from_json(j, "model.json"); }).where().key, "ernie.use_task_id");
  j = default_json();
  j["ernie"].erase("vocab_size");
  EXPECT_EQ(expect_config_error([&] { net_config_from_json(j, "model.json"); }).where().key, "ernie.vocab_size");
}

TEST(NetConfig, BadValuesAreNamed) {
  const std::pair<const char*, json> cases[] = {
      {"rgb_dim", 0},           {"lstm_size_img", "512"}, {"drop_rate", 1.0},
      {"drop_rate", "0.5"},     {"loss_type", "hinge"},   {"ernie_freeze", 1},
      {"num_classes", -3},      {"lstm_pool_mode", 1}};
  for (const auto& [key, value] : cases) {
    json j = default_json();
    j[key] = value;
    const Error e = expect_config_error([&] { net_config_from_json(j, "model.json"); });
    EXPECT_EQ(e.where().key, key) << value.dump();
  }
  json j = default_json();
  j["ernie"]["hidden_act"] = "gelu";
  EXPECT_EQ(expect_config_error([&] { net_config_from_json(j, "model.json"); }).where().key, "ernie.hidden_act");
}

TEST(NetConfig, NotAnObject) {
  const Error e = expect_config_error([&] { net_config_from_json(json::array(), "model.json"); });
  EXPECT_EQ(e.where().file, "model.json");
}
