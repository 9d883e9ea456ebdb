// Typed reads of JSON configuration keys: each error is Error(Config) naming the source and the key.
#include "mvtag/core/base/json_fields.h"

#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "test_util.h"

using namespace mvtag;
using mvtag::test::error_of;
using mvtag::test::thrown_error;
using nlohmann::json;

namespace {

const json kObject = json::parse(R"({"n": 3, "x": 0.5, "s": "relu", "b": true, "big": 1e3})");

}  // namespace

TEST(JsonFields, ReadsEachTypeAndRemembersWhatWasRead) {
  JsonFields f(kObject, "model.json");
  EXPECT_EQ(f.get_int("n"), 3);
  EXPECT_DOUBLE_EQ(f.get_double("x"), 0.5);
  EXPECT_DOUBLE_EQ(f.get_double("n"), 3.0);  // an integer is a number too
  EXPECT_EQ(f.get_string("s"), "relu");
  EXPECT_TRUE(f.get_bool("b"));
  EXPECT_TRUE(f.has("big"));
  EXPECT_FALSE(f.has("absent"));
  EXPECT_EQ(error_of([&] { f.reject_unknown(); }), "model.json: key 'big': unknown key");
  f.require("big");
  f.reject_unknown();
}

TEST(JsonFields, ErrorsNameTheSourceAndTheKey) {
  JsonFields f(kObject, "model.json");
  EXPECT_EQ(error_of([&] { f.get_int("absent"); }), "model.json: key 'absent': missing required key");
  EXPECT_EQ(error_of([&] { f.get_int("x"); }), "model.json: key 'x': expected an integer, got 0.5");
  EXPECT_EQ(error_of([&] { f.get_int("big"); }), "model.json: key 'big': expected an integer, got 1000.0");
  EXPECT_EQ(error_of([&] { f.get_double("s"); }), "model.json: key 's': expected a number, got \"relu\"");
  EXPECT_EQ(error_of([&] { f.get_string("n"); }), "model.json: key 'n': expected a string, got 3");
  EXPECT_EQ(error_of([&] { f.get_bool("n"); }), "model.json: key 'n': expected true or false, got 3");
  EXPECT_EQ(error_of([&] { f.bad_value("b", "a boolean", json("yes")); }),
            "model.json: key 'b': expected a boolean, got \"yes\"");
  EXPECT_EQ(thrown_error([&] { f.require("absent"); }).kind(), ErrorKind::Config);
  EXPECT_EQ(thrown_error([&] { f.get_bool("s"); }).where().key, "s");
}

TEST(JsonFields, OnlyAnObjectHasFields) {
  const Error e = thrown_error([] { JsonFields(json::array(), "config.json"); }, ErrorKind::Config);
  EXPECT_STREQ(e.what(), "config.json: expected a JSON object, got array");
}

TEST(JsonFields, ReadsAFileOrNamesIt) {
  const mvtag::test::TempDir dir("json_fields");
  EXPECT_EQ(read_json_file(dir.write("ok.json", R"({"a": [1, 2]})")), json::parse(R"({"a": [1, 2]})"));
  const std::string broken = dir.write("broken.json", "{ \"a\": ");
  const Error e = thrown_error([&] { read_json_file(broken); }, ErrorKind::Config);
  EXPECT_EQ(e.where().file, broken);
  EXPECT_NE(std::string(e.what()).find("not valid JSON: "), std::string::npos) << e.what();
  EXPECT_EQ(thrown_error([&] { read_json_file(dir.file("absent.json")); }).kind(), ErrorKind::Io);
}

TEST(JsonFields, RangeChecksNameTheKeyAndGiveTheValue) {
  check_positive(1, "rgb_dim", "model.json");
  EXPECT_EQ(error_of([] { check_positive(0, "rgb_dim", "model.json"); }),
            "model.json: key 'rgb_dim': must be positive, got 0");
  EXPECT_EQ(error_of([] { check_positive(-3, "num_classes", "m"); }), "m: key 'num_classes': must be positive, got -3");
  check_probability(0.0, "drop_rate", "model.json");
  check_probability(0.999, "drop_rate", "model.json");
  EXPECT_EQ(error_of([] { check_probability(1.0, "drop_rate", "model.json"); }),
            "model.json: key 'drop_rate': must be in [0, 1), got 1.000000");
  EXPECT_EQ(thrown_error([] { check_probability(-0.1, "p", "m"); }, ErrorKind::Config).where().key, "p");
  EXPECT_EQ(thrown_error([] { check_probability(std::nan(""), "p", "m"); }).kind(), ErrorKind::Config);
}
