// Every resource limit of core/base/limits.h, each met by a small hostile input: the reader must
// refuse it with an Error that names the input and the limit, before allocating what the input
// asks for (docs/ROBUSTNESS.md).
#include "mvtag/core/base/limits.h"

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "mvtag/core/base/io.h"
#include "mvtag/core/base/json_fields.h"
#include "mvtag/core/config/config.h"
#include "mvtag/core/config/net_config.h"
#include "mvtag/core/config/py_literal.h"
#include "mvtag/core/data/class_map.h"
#include "mvtag/core/formats/paddle_tensor.h"
#include "mvtag/core/formats/pickle.h"
#include "mvtag/core/formats/safetensors.h"
#include "mvtag/core/formats/zip_reader.h"
#include "mvtag/core/text/vocab.h"
#include "test_util.h"

namespace mvtag {
namespace {

using test::contains;
using test::thrown_error;

std::string le(std::uint64_t v, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  return out;
}

std::string varint(std::uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}

std::string safetensors_with_header(const std::string& header) { return le(header.size(), 8) + header; }

// One Paddle record header: version, LoD levels (each empty), tensor version, FP32 desc with dims.
std::string paddle_record(std::uint64_t lod_levels, const std::vector<std::uint64_t>& dims) {
  std::string out = le(0, 4) + le(lod_levels, 8);
  for (std::uint64_t i = 0; i < lod_levels; ++i) out += le(0, 8);
  std::string desc = "\x08\x05";
  for (std::uint64_t d : dims) desc += "\x10" + varint(d);
  return out + le(0, 4) + le(desc.size(), 4) + desc;
}

void expect_error(const Error& e, const std::string& source, const std::string& limit) {
  EXPECT_TRUE(contains(e.what(), source)) << e.what();
  EXPECT_TRUE(contains(e.what(), limit)) << e.what();
}

// ---- tensor size and rank

TEST(LimitsTest, SafetensorsTensorAboveMaxBytesIsRefusedBeforeReading) {
  // 2^20 x 2^20 x 2^20 float32: 4 EiB asked for by an 80-byte file.
  const std::string bytes = safetensors_with_header(
      R"({"w":{"dtype":"F32","shape":[1048576,1048576,1048576],"data_offsets":[0,0]}})");
  expect_error(thrown_error([&] { parse_safetensors(bytes, "big.safetensors"); }, ErrorKind::Data), "big.safetensors",
               "kMaxTensorBytes");
}

TEST(LimitsTest, SafetensorsRankAboveMaxRankIsRefused) {
  std::string shape;
  for (std::size_t i = 0; i <= limits::kMaxTensorRank; ++i) shape += (i ? ",1" : "1");
  const std::string bytes =
      safetensors_with_header(R"({"w":{"dtype":"F32","shape":[)" + shape + R"(],"data_offsets":[0,4]}})") + "abcd";
  const Error e = thrown_error([&] { parse_safetensors(bytes, "rank.safetensors"); }, ErrorKind::Data);
  expect_error(e, "rank.safetensors", "kMaxTensorRank");
  EXPECT_EQ(e.where().tensor, "w");
}

TEST(LimitsTest, PaddleTensorAboveMaxBytesIsRefusedBeforeAllocating) {
  const std::string bytes = paddle_record(0, {1u << 20, 1u << 20, 1u << 20});
  const Error e = thrown_error(
      [&] { PaddleTensorReader::from_bytes(bytes, "big.pdparams").next(); }, ErrorKind::Data);
  expect_error(e, "big.pdparams", "kMaxTensorBytes");
  EXPECT_TRUE(contains(e.what(), "tensor #0 at byte 0")) << e.what();
}

TEST(LimitsTest, CheckedNbytesAppliesTheLimits) {
  std::uint64_t n = 0;
  EXPECT_TRUE(checked_nbytes(DType::U8, {1, static_cast<std::int64_t>(limits::kMaxTensorBytes)}, &n));
  EXPECT_EQ(n, limits::kMaxTensorBytes);
  EXPECT_FALSE(checked_nbytes(DType::U8, {static_cast<std::int64_t>(limits::kMaxTensorBytes) + 1}, &n));
  EXPECT_FALSE(checked_nbytes(DType::F32, std::vector<std::int64_t>(limits::kMaxTensorRank + 1, 1), &n));
  EXPECT_TRUE(checked_nbytes(DType::F32, std::vector<std::int64_t>(limits::kMaxTensorRank, 1), &n));
  EXPECT_TRUE(contains(tensor_size_problem(DType::F32, {-1}), "negative"));
}

// ---- strings

TEST(LimitsTest, PickleStringAboveMaxLengthIsRefused) {
  // PROTO 4, BINUNICODE8 announcing 2^40 bytes.
  const std::string bytes = std::string("\x80\x04\x8d", 3) + le(std::uint64_t{1} << 40, 8);
  const Error e = thrown_error([&] { parse_pickle(bytes, "long.pkl"); }, ErrorKind::Data);
  expect_error(e, "long.pkl", "kMaxStringBytes");
  EXPECT_TRUE(contains(e.what(), "byte 2 (BINUNICODE8)")) << e.what();
}

TEST(LimitsTest, PickleSharedStringCannotExpandQuadratically) {
  // One 4 KiB str in the memo, then a list that fetches it 40 000 times: 160 MB of text from an
  // 84 kB input if each reference were copied without a budget.
  std::string bytes = std::string("\x80\x04", 2) + "X" + le(4096, 4) + std::string(4096, 'a') + "\x94" + "]" + "(";
  for (int i = 0; i < 40000; ++i) bytes += std::string("h\x00", 2);
  bytes += "e.";
  const Error e = thrown_error([&] { parse_pickle(bytes, "shared.pkl"); }, ErrorKind::Data);
  expect_error(e, "shared.pkl", "too much text");
}

TEST(LimitsTest, SafetensorsHeaderAboveMaxLengthIsRefused) {
  const std::string bytes = le(limits::kMaxSafetensorsHeaderBytes + 1, 8) + "{}";
  expect_error(thrown_error([&] { parse_safetensors(bytes, "hdr.safetensors"); }, ErrorKind::Data), "hdr.safetensors",
               "kMaxSafetensorsHeaderBytes");
}

TEST(LimitsTest, ConfigFileAboveMaxSizeIsRefusedWithoutReadingIt) {
  test::TempDir dir("limits");
  const std::string path = dir.file("huge.conf");
  write_file_atomic(path, "[MODEL]\n");
  std::filesystem::resize_file(path, limits::kMaxConfigFileBytes + 1);  // sparse: nothing is written
  expect_error(thrown_error([&] { load_config(path); }, ErrorKind::Data), path, "kMaxConfigFileBytes");
  const std::string json = dir.file("model.json");
  write_file_atomic(json, "{}");
  std::filesystem::resize_file(json, limits::kMaxConfigFileBytes + 1);
  expect_error(thrown_error([&] { read_net_config(json); }, ErrorKind::Data), json, "kMaxConfigFileBytes");
}

// ---- nesting

TEST(LimitsTest, PickleNestingAboveMaxDepthIsRefused) {
  // PROTO 2, EMPTY_LIST x (depth + 2), APPEND x (depth + 1), STOP.
  const int n = limits::kMaxPickleDepth + 2;
  const std::string bytes = std::string("\x80\x02", 2) + std::string(n, ']') + std::string(n - 1, 'a') + ".";
  expect_error(thrown_error([&] { parse_pickle(bytes, "deep.pkl"); }, ErrorKind::Data), "deep.pkl",
               "kMaxPickleDepth");
  const std::string ok = std::string("\x80\x02", 2) + std::string(limits::kMaxPickleDepth, ']') +
                         std::string(limits::kMaxPickleDepth - 1, 'a') + ".";
  EXPECT_EQ(parse_pickle(ok, "ok.pkl").type, PickleValue::Type::List);
}

TEST(LimitsTest, LiteralNestingAboveMaxDepthIsNotALiteral) {
  const int n = limits::kMaxLiteralDepth + 1;
  std::string why;
  EXPECT_FALSE(parse_py_literal(std::string(n, '[') + std::string(n, ']'), &why));
  EXPECT_TRUE(contains(why, "kMaxLiteralDepth")) << why;
  // Within the limit it reads.
  const int ok = limits::kMaxLiteralDepth - 1;
  EXPECT_TRUE(parse_py_literal(std::string(ok, '[') + std::string(ok, ']')));
}

TEST(LimitsTest, JsonNestingAboveMaxDepthIsRefused) {
  test::TempDir dir("limits");
  const int n = limits::kMaxJsonDepth + 1;
  const std::string path = dir.write("model.json", "{\"rgb_dim\": " + std::string(n - 1, '[') + std::string(n - 1, ']') + "}");
  expect_error(thrown_error([&] { read_net_config(path); }, ErrorKind::Config), path, "kMaxJsonDepth");
  const std::string header = "{\"__metadata__\": " + std::string(n - 1, '[') + std::string(n - 1, ']') + "}";
  expect_error(thrown_error([&] { parse_safetensors(safetensors_with_header(header), "deep.safetensors"); },
                            ErrorKind::Data),
               "deep.safetensors", "kMaxJsonDepth");
}

// ---- numbers of entries

TEST(LimitsTest, ZipClaimingMoreThanMaxEntriesIsRefused) {
  // A ZIP64 end record claiming 2^40 entries in an empty central directory, its locator, and the
  // classic end record that sends the reader to ZIP64 (count 0xFFFF): 98 bytes.
  std::string end64 = le(0x06064b50, 4) + le(44, 8) + le(45, 2) + le(45, 2) + le(0, 4) + le(0, 4) +
                      le(std::uint64_t{1} << 40, 8) + le(std::uint64_t{1} << 40, 8) + le(0, 8) + le(0, 8);
  const std::string locator = le(0x07064b50, 4) + le(0, 4) + le(0, 8) + le(1, 4);
  const std::string eocd = le(0x06054b50, 4) + le(0, 2) + le(0, 2) + le(0xFFFF, 2) + le(0xFFFF, 2) +
                           le(0xFFFFFFFF, 4) + le(0xFFFFFFFF, 4) + le(0, 2);
  test::TempDir dir("limits");
  const std::string path = dir.write("many.zip", end64 + locator + eocd);
  expect_error(thrown_error([&] { ZipReader zip(path); }, ErrorKind::Data), path, "kMaxZipEntries");
}

TEST(LimitsTest, ZipEntryLargerThanTheFileIsRefusedBeforeAllocating) {
  // The fixture's first central-directory entry patched to claim 2 GiB (stored, sizes equal).
  std::string bytes = read_file(std::string(MVTAG_FIXTURES) + "/interop/ernie_hf_zip/pytorch_model.bin");
  const std::size_t eocd = bytes.size() - 22;
  std::size_t cd = 0;
  for (int i = 3; i >= 0; --i) cd = (cd << 8) | static_cast<unsigned char>(bytes[eocd + 16 + static_cast<std::size_t>(i)]);
  bytes.replace(cd + 20, 8, le(0x7FFFFFF0, 4) + le(0x7FFFFFF0, 4));
  test::TempDir dir("limits");
  const std::string path = dir.write("lying.zip", bytes);
  ZipReader zip(path);
  const Error e = thrown_error([&] { zip.read(zip.entries().at(0)); }, ErrorKind::Data);
  expect_error(e, path, "lies beyond the end of the file");
  EXPECT_TRUE(contains(e.what(), "2147483632 bytes")) << e.what();
}

TEST(LimitsTest, PaddleLodLevelsAboveMaxAreRefused) {
  const std::string bytes = paddle_record(limits::kMaxLodLevels + 1, {1});
  expect_error(thrown_error([&] { PaddleTensorReader::from_bytes(bytes, "lod.pdparams").next(); }, ErrorKind::Data),
               "lod.pdparams", "kMaxLodLevels");
}

TEST(LimitsTest, ClassIndexAboveMaxClassesIsRefused) {
  const std::string text = "a\t0\nb\t" + std::to_string(limits::kMaxClasses) + "\n";
  const Error e = thrown_error([&] { ClassMap::parse(text, "class.txt"); }, ErrorKind::Data);
  expect_error(e, "class.txt:2", "kMaxClasses");
  EXPECT_EQ(ClassMap::parse("a\t0\nb\t" + std::to_string(limits::kMaxClasses - 1) + "\n", "ok.txt").num_classes(),
            limits::kMaxClasses);
  expect_error(thrown_error([&] { ClassMap::parse("a\n", "class.txt", limits::kMaxClasses + 1); }, ErrorKind::Config),
               "class.txt", "kMaxClasses");
}

TEST(LimitsTest, ConfigNumClassesAboveMaxClassesIsRefused) {
  std::string text = read_file(std::string(MVTAG_FIXTURES) + "/config/minimal.conf");
  const std::string key = "num_classes = 110";
  ASSERT_NE(text.find(key), std::string::npos);
  text.replace(text.find(key), key.size(), "num_classes = " + std::to_string(limits::kMaxClasses + 1));
  const Error e = thrown_error([&] { parse_config(text, "big.conf"); }, ErrorKind::Config);
  EXPECT_TRUE(contains(e.what(), "big.conf:")) << e.what();
  EXPECT_EQ(e.where().key, "MODEL.num_classes");
}

TEST(LimitsTest, NetworkAboveMaxParametersIsRefusedBeforeItIsBuilt) {
  // The 20 bytes '"hidden_size": 60000' of a model.json would make LibTorch allocate 0.7 TB.
  NetConfig net;
  EXPECT_LT(net_parameter_estimate(net), 2e8);  // the original's network: 0.12 billion
  net.ernie.hidden_size = 60000;
  net.ernie.num_attention_heads = 12;
  const Error e = thrown_error([&] { validate_net_config(net, "model.json"); }, ErrorKind::Config);
  expect_error(e, "model.json", "kMaxModelParameters");
  NetConfig wide;
  wide.lstm_size_img = 1'000'000;
  expect_error(thrown_error([&] { validate_net_config(wide, "model.json"); }, ErrorKind::Config), "model.json",
               "kMaxModelParameters");
}

TEST(LimitsTest, VocabIdAboveMaxIsRefused) {
  const std::string text = "[PAD]\t0\n[CLS]\t1\n[SEP]\t2\n[UNK]\t" + std::to_string(limits::kMaxVocabId + 1) + "\n";
  expect_error(thrown_error([&] { Vocab::parse(text, "vocab.txt"); }, ErrorKind::Data), "vocab.txt:4", "kMaxVocabId");
}

}  // namespace
}  // namespace mvtag
