#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/config/ernie_config.h"
#include "test_util.h"
#include "tiny_config.h"

using namespace mvtag;
using nlohmann::json;

namespace {

// ERNIE 1.0's ernie_config.json as released with the original (model_pretrained/ernie_v1_params/).
const char* kPaddleConfig = R"({
  "attention_probs_dropout_prob": 0.1,
  "hidden_act": "relu",
  "hidden_dropout_prob": 0.1,
  "hidden_size": 768,
  "initializer_range": 0.02,
  "max_position_embeddings": 513,
  "num_attention_heads": 12,
  "num_hidden_layers": 12,
  "type_vocab_size": 2,
  "vocab_size": 18000
})";

// The HuggingFace port (nghuyong/ernie-1.0-base-zh), abridged.
const char* kHfConfig = R"({
  "architectures": ["ErnieForMaskedLM"],
  "attention_probs_dropout_prob": 0.1,
  "hidden_act": "relu",
  "hidden_dropout_prob": 0.1,
  "hidden_size": 768,
  "initializer_range": 0.02,
  "intermediate_size": 3072,
  "layer_norm_eps": 1e-05,
  "max_position_embeddings": 513,
  "model_type": "ernie",
  "num_attention_heads": 12,
  "num_hidden_layers": 12,
  "pad_token_id": 0,
  "type_vocab_size": 2,
  "use_task_id": false,
  "vocab_size": 18000
})";

// Runs f, expects an Error(Config), returns it.
template <typename F>
Error expect_config_error(F f) {
  return mvtag::test::thrown_error(f, ErrorKind::Config);
}

}  // namespace

TEST(ErnieConfig, ReadsThePaddleConfigWithTheOriginalsHardCodedValues) {
  const ErnieConfig c = ernie_config_from_json(json::parse(kPaddleConfig), "ernie_config.json");
  EXPECT_EQ(c.vocab_size, 18000);
  EXPECT_EQ(c.hidden_size, 768);
  EXPECT_EQ(c.num_hidden_layers, 12);
  EXPECT_EQ(c.num_attention_heads, 12);
  EXPECT_EQ(c.head_size(), 64);
  EXPECT_EQ(c.intermediate_size, 3072);  // 4 × hidden, not in the file
  EXPECT_EQ(c.max_position_embeddings, 513);
  EXPECT_EQ(c.type_vocab_size, 2);
  EXPECT_DOUBLE_EQ(c.hidden_dropout_prob, 0.1);
  EXPECT_DOUBLE_EQ(c.attention_probs_dropout_prob, 0.1);
  EXPECT_DOUBLE_EQ(c.layer_norm_eps, 1e-5);  // Paddle default, not in the file
  EXPECT_DOUBLE_EQ(c.initializer_range, 0.02);
  EXPECT_EQ(c.hidden_act, "relu");
}

TEST(ErnieConfig, FourTimesHiddenFollowsTheHiddenSize) {
  json j = json::parse(kPaddleConfig);
  j["hidden_size"] = 16;
  j["num_attention_heads"] = 2;
  EXPECT_EQ(ernie_config_from_json(j, "x").intermediate_size, 64);
}

TEST(ErnieConfig, ReadsTheHuggingFaceConfig) {
  json j = json::parse(kHfConfig);
  j["intermediate_size"] = 1000;
  j["layer_norm_eps"] = 1e-12;
  const ErnieConfig c = ernie_config_from_json(j, "config.json");
  EXPECT_EQ(c.intermediate_size, 1000);
  EXPECT_DOUBLE_EQ(c.layer_norm_eps, 1e-12);
  EXPECT_EQ(c.hidden_size, 768);
}

TEST(ErnieConfig, SentTypeVocabSizeWinsOverTypeVocabSize) {
  json j = json::parse(kPaddleConfig);
  j["sent_type_vocab_size"] = 4;
  EXPECT_EQ(ernie_config_from_json(j, "x").type_vocab_size, 4);
  j.erase("type_vocab_size");
  EXPECT_EQ(ernie_config_from_json(j, "x").type_vocab_size, 4);
}

TEST(ErnieConfig, RejectsTaskEmbeddings) {
  json j = json::parse(kHfConfig);
  j["use_task_id"] = true;
  const Error e = expect_config_error([&] { ernie_config_from_json(j, "config.json"); });
  EXPECT_EQ(e.where().file, "config.json");
  EXPECT_EQ(e.where().key, "use_task_id");
  EXPECT_NE(std::string(e.what()).find("task embeddings not supported"), std::string::npos);
}

TEST(ErnieConfig, RejectsOtherActivations) {
  json j = json::parse(kHfConfig);
  j["hidden_act"] = "gelu";
  const Error e = expect_config_error([&] { ernie_config_from_json(j, "config.json"); });
  EXPECT_EQ(e.where().key, "hidden_act");
  EXPECT_NE(std::string(e.what()).find("gelu"), std::string::npos);
}

TEST(ErnieConfig, MissingKeysAreNamed) {
  for (const char* key : {"vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                          "max_position_embeddings", "hidden_act", "hidden_dropout_prob",
                          "attention_probs_dropout_prob", "type_vocab_size"}) {
    json j = json::parse(kPaddleConfig);
    j.erase(key);
    const Error e = expect_config_error([&] { ernie_config_from_json(j, "ernie_config.json"); });
    EXPECT_EQ(e.where().key, key);
    EXPECT_EQ(e.where().file, "ernie_config.json");
  }
}

TEST(ErnieConfig, WrongTypesAndRangesAreNamed) {
  const std::pair<const char*, json> cases[] = {
      {"hidden_size", "768"}, {"hidden_size", 7.5},    {"hidden_dropout_prob", "x"},
      {"hidden_size", 0},     {"num_attention_heads", 5}, {"attention_probs_dropout_prob", 1.0},
      {"hidden_act", 3},      {"layer_norm_eps", 0.0}};
  for (const auto& [key, value] : cases) {
    json j = json::parse(kHfConfig);
    j[key] = value;
    const Error e = expect_config_error([&] { ernie_config_from_json(j, "config.json"); });
    EXPECT_EQ(e.where().key, key) << value.dump();
  }
}

TEST(ErnieConfig, FileRoundTripIsReadableAsBothStrictAndLenient) {
  ErnieConfig c = mvtag::test::tiny_ernie_config();
  c.intermediate_size = 48;
  c.layer_norm_eps = 1e-6;
  c.hidden_dropout_prob = 0.25;
  const mvtag::test::TempDir dir("ernie_config");
  const std::string path = dir.file("roundtrip.json");
  write_ernie_config(path, c);
  const ErnieConfig back = read_ernie_config(path);
  EXPECT_EQ(back.vocab_size, 40);
  EXPECT_EQ(back.intermediate_size, 48);
  EXPECT_DOUBLE_EQ(back.layer_norm_eps, 1e-6);
  EXPECT_DOUBLE_EQ(back.hidden_dropout_prob, 0.25);
  EXPECT_EQ(ernie_config_from_json(ernie_config_to_json(c), "x", /*strict=*/true).hidden_size, 16);
}

TEST(ErnieConfig, StrictModeWantsExactlyTheWrittenKeys) {
  json j = ernie_config_to_json(ErnieConfig{});
  j["model_type"] = "ernie";
  EXPECT_EQ(expect_config_error([&] { ernie_config_from_json(j, "m", true); }).where().key, "model_type");
  j = ernie_config_to_json(ErnieConfig{});
  j.erase("layer_norm_eps");
  EXPECT_EQ(expect_config_error([&] { ernie_config_from_json(j, "m", true); }).where().key, "layer_norm_eps");
}

TEST(ErnieConfig, BadFilesNameTheFile) {
  const mvtag::test::TempDir dir("ernie_config");
  const std::string path = dir.write("broken.json", "{ \"vocab_size\": ");
  const Error e = expect_config_error([&] { read_ernie_config(path); });
  EXPECT_EQ(e.where().file, path);
  EXPECT_THROW(read_ernie_config(dir.file("absent.json")), Error);
}

// Found by fuzz_json_config: a number out of double's range made nlohmann throw out_of_range,
// which escaped read_json_file as a foreign exception instead of an error naming the file.
TEST(ErnieConfig, NumberOutOfRangeIsAnErrorNamingTheFile) {
  const mvtag::test::TempDir dir("ernie_config");
  const std::string path = dir.write("config.json", "{\"attention_probs_dropout_prob\": 1e405}");
  const Error e = expect_config_error([&] { read_ernie_config(path); });
  EXPECT_EQ(e.where().file, path);
  EXPECT_TRUE(mvtag::test::contains(e.what(), "not valid JSON")) << e.what();
  EXPECT_TRUE(mvtag::test::contains(e.what(), "1e405")) << e.what();
}
