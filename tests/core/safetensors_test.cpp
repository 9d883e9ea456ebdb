#include "mvtag/core/formats/safetensors.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "test_util.h"

using namespace mvtag;
using mvtag::test::expect_message_contains;
using mvtag::test::le_bytes;
using mvtag::test::make_array;
using mvtag::test::TempDir;
using mvtag::test::thrown_error;
namespace fs = std::filesystem;

namespace {

const std::string kFixtures = std::string(MVTAG_FIXTURES) + "/tensorio";

std::vector<NamedArray> every_dtype() {
  return {
      {"f32", make_array<float>(DType::F32, {2, 3}, {1, -2, 3.5f, 0, 1e-20f, -1e20f})},
      {"f16", make_array<std::uint16_t>(DType::F16, {3}, {0x3c00, 0xc000, 0x7bff})},
      {"bf16", make_array<std::uint16_t>(DType::BF16, {1, 2}, {0x3f80, 0xc049})},
      {"f64", make_array<double>(DType::F64, {}, {3.25})},
      {"i64", make_array<std::int64_t>(DType::I64, {2}, {-1, std::int64_t(1) << 50})},
      {"i32", make_array<std::int32_t>(DType::I32, {1, 1, 1}, {-5})},
      {"i16", make_array<std::int16_t>(DType::I16, {2}, {-300, 300})},
      {"i8", make_array<std::int8_t>(DType::I8, {3}, {-128, 0, 127})},
      {"u8_empty", make_array<std::uint8_t>(DType::U8, {0, 4}, {})},
      {"mask", make_array<std::uint8_t>(DType::Bool, {2, 2}, {1, 0, 0, 1})},
  };
}

void expect_same(const std::vector<NamedArray>& want, const std::vector<NamedArray>& got) {
  ASSERT_EQ(want.size(), got.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(want[i].name);
    EXPECT_EQ(want[i].name, got[i].name);
    EXPECT_EQ(want[i].array.dtype, got[i].array.dtype);
    EXPECT_EQ(want[i].array.shape, got[i].array.shape);
    EXPECT_EQ(want[i].array.data, got[i].array.data);
  }
}

// A file whose header is exactly `header` (padded to 8 bytes) followed by `data`.
std::string file_with(std::string header, const std::string& data) {
  header.append((8 - header.size() % 8) % 8, ' ');
  return le_bytes(header.size(), 8) + header + data;
}

// Parses `bytes` expecting Error(Data) whose message contains every one of `parts`.
void expect_data_error(const std::string& bytes, const std::vector<std::string>& parts) {
  const Error e = thrown_error([&] { parse_safetensors(bytes, "bad.safetensors"); }, ErrorKind::Data);
  EXPECT_EQ(std::string(e.what()).rfind("bad.safetensors: ", 0), 0u) << e.what();
  expect_message_contains(e, parts);
}

class SafetensorsFileTest : public ::testing::Test {
 protected:
  std::string path_of(const std::string& name) const { return dir_.file(name); }
  TempDir dir_{"st"};
};

}  // namespace

TEST(Safetensors, WritesTheExactBytesOfTheFormat) {
  const std::string bytes = safetensors_bytes({{"b", make_array<float>(DType::F32, {2}, {1.0f, 2.0f})},
                                               {"a", make_array<std::int8_t>(DType::I8, {}, {-1})}},
                                              {{"k", "v"}});
  const std::string header =
      R"({"__metadata__":{"k":"v"},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("a":{"dtype":"I8","shape":[],"data_offsets":[8,9]}})";
  ASSERT_EQ(header.size(), 130u);  // padded with six spaces to 136
  std::string want("\x88\0\0\0\0\0\0\0", 8);
  want += header + "      ";
  want += std::string("\x00\x00\x80\x3f\x00\x00\x00\x40\xff", 9);
  EXPECT_EQ(bytes, want);
}

TEST(Safetensors, RoundTripsEveryDtypeInTheGivenOrder) {
  const auto tensors = every_dtype();
  const std::map<std::string, std::string> metadata = {{"format", "mvtag"}, {"epoch", "3"}};
  const std::string bytes = safetensors_bytes(tensors, metadata);
  const std::uint64_t header_len =
      static_cast<unsigned char>(bytes[0]) | (static_cast<unsigned char>(bytes[1]) << 8);
  EXPECT_EQ(header_len % 8, 0u);
  const SafetensorsFile f = parse_safetensors(bytes, "mem");
  expect_same(tensors, f.tensors);
  EXPECT_EQ(f.metadata, metadata);
}

TEST(Safetensors, FindsTensorsByName) {
  const SafetensorsFile f = parse_safetensors(safetensors_bytes(every_dtype()), "mem");
  ASSERT_NE(f.find("i16"), nullptr);
  EXPECT_EQ(f.find("i16")->shape, (std::vector<std::int64_t>{2}));
  EXPECT_EQ(f.find("i17"), nullptr);
  EXPECT_TRUE(f.metadata.empty());
}

TEST(Safetensors, EmptyFileHasNoTensors) {
  const std::string bytes = safetensors_bytes({});
  EXPECT_EQ(bytes, file_with("{}", ""));
  EXPECT_TRUE(parse_safetensors(bytes, "mem").tensors.empty());
}

TEST(Safetensors, ReadsAFileWrittenByTheReferenceLayout) {
  std::ifstream in(kFixtures + "/reference.safetensors.json");
  const nlohmann::json expected = nlohmann::json::parse(in);
  const std::string path = kFixtures + "/reference.safetensors";
  const SafetensorsFile f = read_safetensors(path);

  ASSERT_EQ(f.tensors.size(), expected["order"].size());
  for (std::size_t i = 0; i < f.tensors.size(); ++i) {
    const NamedArray& t = f.tensors[i];
    SCOPED_TRACE(t.name);
    EXPECT_EQ(t.name, expected["order"][i].get<std::string>());  // file (offset) order
    const nlohmann::json& want = expected["tensors"][t.name];
    EXPECT_EQ(safetensors_dtype_name(t.array.dtype), want["dtype"].get<std::string>());
    EXPECT_EQ(t.array.shape, want["shape"].get<std::vector<std::int64_t>>());
    std::string hex;
    for (std::uint8_t b : t.array.data) {
      const char* digits = "0123456789abcdef";
      hex += digits[b >> 4];
      hex += digits[b & 15];
    }
    EXPECT_EQ(hex, want["hex"].get<std::string>());
    if (t.array.dtype != DType::I64) {  // int64 values beyond 2^24 do not survive float
      const std::vector<float> got = t.array.to_float();
      ASSERT_EQ(got.size(), want["values"].size());
      for (std::size_t k = 0; k < got.size(); ++k) {
        EXPECT_EQ(got[k], static_cast<float>(want["values"][k].get<double>())) << k;
      }
    }
  }
  EXPECT_EQ(f.metadata, (expected["metadata"].get<std::map<std::string, std::string>>()));

  const SafetensorsFile again = parse_safetensors(read_file(path), path);
  expect_same(f.tensors, again.tensors);
}

TEST_F(SafetensorsFileTest, WritesAtomicallyAndReadsBack) {
  const std::string path = path_of("model.safetensors");
  write_file_atomic(path, "old contents");
  const auto tensors = every_dtype();
  write_safetensors(path, tensors, {{"step", "12"}});
  const SafetensorsFile f = read_safetensors(path);
  expect_same(tensors, f.tensors);
  EXPECT_EQ(f.metadata.at("step"), "12");
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir_.path())) names.push_back(e.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"model.safetensors"});  // no temp file left
}

TEST_F(SafetensorsFileTest, ReadErrorsNameTheFile) {
  const std::string missing = path_of("missing.safetensors");
  EXPECT_EQ(thrown_error([&] { read_safetensors(missing); }, ErrorKind::Io).where().file, missing);
  const std::string cut = path_of("cut.safetensors");
  const std::string whole = safetensors_bytes(every_dtype());
  write_file_atomic(cut, whole.substr(0, whole.size() - 1));
  const Error e = thrown_error([&] { read_safetensors(cut); }, ErrorKind::Data);
  EXPECT_EQ(e.where().file, cut);
  expect_message_contains(e, {"tensor 'mask': data_offsets [69, 73] go beyond the data buffer of 72 bytes"});
}

TEST(SafetensorsErrors, FileAndHeaderFraming) {
  expect_data_error(std::string(5, '\0'), {"5 bytes is too short"});
  expect_data_error(std::string("\x10\0\0\0\0\0\0\0{}", 10),
                    {"header length 16 goes beyond the end of the file (10 bytes)"});
  expect_data_error(std::string("\xff\xff\xff\xff\xff\xff\xff\xff", 8),
                    {"header length 18446744073709551615 is above the limit of 104857600 bytes (kMaxSafetensorsHeaderBytes)"});
  expect_data_error(std::string("\0\0\0\x01\0\0\0\0", 8), {"header length 16777216 goes beyond the end"});
  expect_data_error(file_with(" {}", ""), {"does not start with '{'"});
  expect_data_error(file_with(R"({"a": {"dtype": "F32",)", ""), {"not valid JSON"});
  expect_data_error(file_with("{\"\xff\": 1}", ""), {"not valid JSON"});
}

TEST(SafetensorsErrors, BadEntries) {
  expect_data_error(
      file_with(R"({"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})", "ab"),
      {"tensor 'w'", "unsupported dtype \"F8_E4M3\""});
  expect_data_error(file_with(R"({"w":{"dtype":"U16","shape":[1],"data_offsets":[0,2]}})", "ab"),
                    {"tensor 'w'", "unsupported dtype \"U16\""});
  expect_data_error(file_with(R"({"w":{"shape":[1],"data_offsets":[0,1]}})", "a"),
                    {"tensor 'w'", "missing string \"dtype\""});
  expect_data_error(file_with(R"({"w":{"dtype":"U8","data_offsets":[0,1]}})", "a"),
                    {"tensor 'w'", "missing array \"shape\""});
  expect_data_error(file_with(R"({"w":{"dtype":"U8","shape":[1]}})", "a"),
                    {"tensor 'w'", "missing \"data_offsets\""});
  expect_data_error(file_with(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0]}})", "a"),
                    {"tensor 'w'", "missing \"data_offsets\""});
  expect_data_error(file_with(R"({"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}})", "a"),
                    {"tensor 'w'", "\"shape\" must hold non-negative integers, got -1"});
  expect_data_error(file_with(R"({"w":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}})", "a"),
                    {"tensor 'w'", "got 1.5"});
  expect_data_error(file_with(R"({"w":[1,2]})", ""), {"tensor 'w'", "entry must be an object"});
  expect_data_error(file_with(R"({"":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}})", ""),
                    {"empty name"});
  expect_data_error(
      file_with(R"({"w":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,1]}})",
                "a"),
      {"tensor 'w'", "float64 [4294967296, 4294967296] is above the limit of 17179869184 bytes per tensor (kMaxTensorBytes)"});
}

TEST(SafetensorsErrors, OffsetsThatDoNotFit) {
  expect_data_error(file_with(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[2,1]}})", "ab"),
                    {"tensor 'w'", "data_offsets [2, 1] end before they begin"});
  expect_data_error(file_with(R"({"w":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}})", "ab"),
                    {"tensor 'w'", "data_offsets [0, 3] go beyond the data buffer of 2 bytes"});
  expect_data_error(
      file_with(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,8]}})", std::string(8, 'x')),
      {"tensor 'w'", "hold 8 bytes, but dtype F32 and shape [2, 3] need 24"});
  expect_data_error(file_with(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                              R"("b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})",
                              "abc"),
                    {"tensor 'b'", "overlap those of tensor 'a'"});
  expect_data_error(file_with(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                              R"("b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}})",
                              "abc"),
                    {"tensor 'b'", "bytes 1..2 of the data buffer belong to no tensor"});
  expect_data_error(file_with(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", "ab"),
                    {"the data buffer has 2 bytes but the tensors use 1"});
}

TEST(SafetensorsErrors, DuplicatesAndMetadata) {
  expect_data_error(file_with(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                              R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                              "ab"),
                    {"the key 'a' more than once"});
  expect_data_error(file_with(R"({"__metadata__":{"epoch":3}})", ""),
                    {"key '__metadata__.epoch'", "metadata values must be strings, got 3"});
  expect_data_error(file_with(R"({"__metadata__":["x"]})", ""),
                    {"\"__metadata__\" must be an object"});
}

TEST(SafetensorsErrors, WritingRejectsInconsistentInput) {
  const NDArray ok = make_array<float>(DType::F32, {1}, {1.0f});
  NDArray short_data = make_array<float>(DType::F32, {2}, {1.0f});
  NDArray negative = ok;
  negative.shape = {-1};
  const std::vector<std::pair<std::vector<NamedArray>, std::string>> cases = {
      {{{"a", ok}, {"a", ok}}, "tensor 'a': duplicate tensor name"},
      {{{"__metadata__", ok}}, "reserved tensor name"},
      {{{"", ok}}, "empty tensor name"},
      {{{"s", short_data}}, "tensor 's': holds 4 bytes, but float32 [2] needs 8"},
      {{{"n", negative}}, "tensor 'n': negative dimension in [-1]"},
  };
  for (const auto& [tensors, message] : cases) {
    SCOPED_TRACE(message);
    expect_message_contains(thrown_error([&] { safetensors_bytes(tensors); }, ErrorKind::Runtime), {message});
  }
  EXPECT_THROW(safetensors_bytes({{"bad\xff", ok}}), Error);
}
