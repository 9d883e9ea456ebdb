#include "mvtag/core/formats/paddle_tensor.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "test_util.h"

using namespace mvtag;
using mvtag::test::expect_message_contains;
using mvtag::test::le32;
using mvtag::test::le64;
using mvtag::test::make_array;
using mvtag::test::raw_bytes;
using mvtag::test::TempDir;
using mvtag::test::thrown_error;

namespace {

const std::string kFixtures = std::string(MVTAG_FIXTURES) + "/tensorio";

std::string floats(const std::vector<float>& v) { return raw_bytes(v); }

// A record with no LoD around the given TensorDesc bytes and data.
std::string record(const std::string& desc, const std::string& data) {
  return le32(0) + le64(0) + le32(0) + le32(static_cast<std::uint32_t>(desc.size())) + desc + data;
}

const std::string kDesc23 = std::string("\x08\x05\x10\x02\x10\x03", 6);     // FP32 [2, 3]
const std::string kRecord23 = record(kDesc23, floats({1, 2, 3, 4, 5, 6}));  // 50 bytes

NDArray parse_one(const std::string& bytes) {
  PaddleTensorReader reader = PaddleTensorReader::from_bytes(bytes, "mem");
  NDArray a = reader.next().array;
  EXPECT_TRUE(reader.at_end());
  return a;
}

// Reads every record of `bytes`, expecting Error(Data) whose message contains every part.
void expect_data_error(const std::string& bytes, const std::vector<std::string>& parts) {
  PaddleTensorReader reader = PaddleTensorReader::from_bytes(bytes, "bad.pdparams");
  const auto read_all = [&] {
    while (!reader.at_end()) reader.next();
  };
  const Error e = thrown_error(read_all, ErrorKind::Data);
  EXPECT_EQ(e.where().file, "bad.pdparams");
  expect_message_contains(e, parts);
}

void expect_same(const NDArray& want, const NDArray& got) {
  EXPECT_EQ(want.dtype, got.dtype);
  EXPECT_EQ(want.shape, got.shape);
  EXPECT_EQ(want.data, got.data);
}

std::vector<NDArray> mixed_arrays() {
  return {
      make_array<float>(DType::F32, {2, 3}, {1, 2, 3, 4, 5, 6}),
      make_array<std::uint16_t>(DType::F16, {2}, {0x3c00, 0xfbff}),
      make_array<double>(DType::F64, {1, 1}, {-0.125}),
      make_array<std::int64_t>(DType::I64, {3}, {-1, 0, std::int64_t(1) << 62}),
      make_array<float>(DType::F32, {0, 5}, {}),
      make_array<double>(DType::F64, {}, {7.5}),
      make_array<std::uint8_t>(DType::Bool, {2}, {1, 0}),
      make_array<std::int8_t>(DType::I8, {1}, {-3}),
      make_array<std::uint16_t>(DType::BF16, {1}, {0x4049}),
  };
}

class PaddleFileTest : public ::testing::Test {
 protected:
  std::string path_of(const std::string& name) const { return dir_.file(name); }
  TempDir dir_{"pd"};
};

}  // namespace

TEST(PaddleTensor, ParsesAHandAssembledRecord) {
  const std::string bytes = std::string("\x00\x00\x00\x00", 4)                    // version 0
                            + std::string("\x00\x00\x00\x00\x00\x00\x00\x00", 8)  // lod_level 0
                            + std::string("\x00\x00\x00\x00", 4)          // tensor version 0
                            + std::string("\x06\x00\x00\x00", 4)          // desc length 6
                            + std::string("\x08\x05\x10\x02\x10\x03", 6)  // FP32, dims 2, 3
                            + floats({1.5f, -2, 0, 4, 5, 6.25f});
  ASSERT_EQ(bytes.size(), 50u);
  PaddleTensorReader reader = PaddleTensorReader::from_bytes(bytes, "mem");
  const PaddleTensor t = reader.next();
  EXPECT_EQ(t.array.dtype, DType::F32);
  EXPECT_EQ(t.array.shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(t.array.to_float(), (std::vector<float>{1.5f, -2, 0, 4, 5, 6.25f}));
  EXPECT_TRUE(t.lod.empty());
  EXPECT_EQ(t.index, 0u);
  EXPECT_EQ(t.offset, 0u);
  EXPECT_TRUE(reader.at_end());
  EXPECT_EQ(reader.offset(), 50u);
  EXPECT_EQ(reader.count(), 1u);

  std::string written;
  append_paddle_tensor(written, t.array);
  EXPECT_EQ(written, bytes);
}

TEST(PaddleTensor, TypeCodesFollowFrameworkProto) {
  const std::vector<std::pair<DType, int>> codes = {
      {DType::Bool, 0}, {DType::I16, 1}, {DType::I32, 2}, {DType::I64, 3}, {DType::F16, 4},
      {DType::F32, 5},  {DType::F64, 6}, {DType::U8, 20}, {DType::I8, 21}, {DType::BF16, 22}};
  for (const auto& [dtype, code] : codes) {
    EXPECT_EQ(paddle_type_code(dtype), code) << dtype_name(dtype);
    DType back;
    ASSERT_TRUE(dtype_from_paddle_type(code, &back));
    EXPECT_EQ(back, dtype);
  }
  DType unused;
  EXPECT_FALSE(dtype_from_paddle_type(19, &unused));  // SIZE_T
  EXPECT_FALSE(dtype_from_paddle_type(7, &unused));   // LOD_TENSOR is a variable type
  EXPECT_STREQ(paddle_type_name(5), "FP32");
  EXPECT_STREQ(paddle_type_name(24), "COMPLEX128");
  EXPECT_STREQ(paddle_type_name(99), "?");
}

TEST(PaddleTensor, ReadsTheReferenceCombinedFile) {
  std::ifstream in(kFixtures + "/reference.pdparams.json");
  const nlohmann::json expected = nlohmann::json::parse(in);
  PaddleTensorReader reader(kFixtures + "/reference.pdparams");
  std::uint64_t previous_end = 0;
  for (const nlohmann::json& want : expected) {
    const std::string name = want["name"].get<std::string>();
    SCOPED_TRACE(name);
    ASSERT_FALSE(reader.at_end());
    const PaddleTensor t = reader.next(name);
    EXPECT_EQ(t.offset, previous_end);
    previous_end = reader.offset();
    EXPECT_EQ(dtype_name(t.array.dtype), want["dtype"].get<std::string>());
    EXPECT_EQ(t.array.shape, want["shape"].get<std::vector<std::int64_t>>());
    EXPECT_EQ(t.lod, want["lod"].get<PaddleLoD>());
    if (t.array.dtype == DType::I64) {
      std::vector<std::int64_t> got(t.array.numel());
      std::memcpy(got.data(), t.array.data.data(), t.array.data.size());
      EXPECT_EQ(got, want["values"].get<std::vector<std::int64_t>>());
    } else {
      const std::vector<float> got = t.array.to_float();
      ASSERT_EQ(got.size(), want["values"].size());
      for (std::size_t k = 0; k < got.size(); ++k) {
        EXPECT_EQ(got[k], static_cast<float>(want["values"][k].get<double>())) << k;
      }
    }
  }
  EXPECT_TRUE(reader.at_end());
  EXPECT_EQ(reader.count(), expected.size());

  const std::vector<NDArray> all = read_paddle_combined(kFixtures + "/reference.pdparams");
  ASSERT_EQ(all.size(), expected.size());
  EXPECT_EQ(all[1].shape, (std::vector<std::int64_t>{2, 3}));
}

TEST(PaddleTensor, ReadsTheReferenceSingleParameterFile) {
  std::ifstream in(kFixtures + "/word_embedding.json");
  const nlohmann::json expected = nlohmann::json::parse(in);
  const NDArray a = read_paddle_tensor(kFixtures + "/word_embedding");
  EXPECT_EQ(a.dtype, DType::F32);
  EXPECT_EQ(a.shape, expected["shape"].get<std::vector<std::int64_t>>());
  const std::vector<float> got = a.to_float();
  ASSERT_EQ(got.size(), 8u);
  for (std::size_t k = 0; k < got.size(); ++k) {
    EXPECT_EQ(got[k], static_cast<float>(expected["values"][k].get<double>())) << k;
  }
}

TEST(PaddleTensor, AcceptsPackedDimsAndSkipsUnknownFields) {
  // field 2 packed [2, 3]; then unknown fields 3 (varint), 4 (fixed64), 5 (bytes), 6 (fixed32).
  const std::string desc = std::string("\x08\x05\x12\x02\x02\x03", 6) + "\x18\xac\x02" + "\x21" +
                           std::string(8, '\x01') + "\x2a\x03" + "abc" + "\x35" +
                           std::string(4, '\x02');
  const NDArray a = parse_one(record(desc, floats({1, 2, 3, 4, 5, 6})));
  EXPECT_EQ(a.shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(a.to_float()[5], 6.0f);
}

TEST(PaddleTensor, RoundTripsLoDAndReportsOffsets) {
  std::string bytes;
  append_paddle_tensor(bytes, make_array<float>(DType::F32, {3, 1}, {1, 2, 3}), {{0, 1, 3}, {0, 3}});
  append_paddle_tensor(bytes, make_array<std::int32_t>(DType::I32, {1}, {42}));
  PaddleTensorReader reader = PaddleTensorReader::from_bytes(bytes, "mem");
  const PaddleTensor first = reader.next();
  EXPECT_EQ(first.lod, (PaddleLoD{{0, 1, 3}, {0, 3}}));
  // 4 + 8 + (8 + 24) + (8 + 16) + 4 + 4 + desc (2 + 2 + 2) + 12 data bytes = 94
  EXPECT_EQ(reader.offset(), 94u);
  const PaddleTensor second = reader.next();
  EXPECT_EQ(second.index, 1u);
  EXPECT_EQ(second.offset, 94u);
  EXPECT_TRUE(second.lod.empty());
  EXPECT_EQ(second.array.to_float(), std::vector<float>{42});
}

TEST_F(PaddleFileTest, RoundTripsSingleAndCombinedFiles) {
  const std::vector<NDArray> arrays = mixed_arrays();
  for (std::size_t i = 0; i < arrays.size(); ++i) {
    SCOPED_TRACE(i);
    const std::string path = path_of("single_" + std::to_string(i));
    write_paddle_tensor(path, arrays[i]);
    expect_same(arrays[i], read_paddle_tensor(path));
  }
  const std::string params = path_of("params");
  write_paddle_combined(params, arrays);
  const std::vector<NDArray> back = read_paddle_combined(params);
  ASSERT_EQ(back.size(), arrays.size());
  for (std::size_t i = 0; i < arrays.size(); ++i) expect_same(arrays[i], back[i]);

  write_paddle_combined(params, {});
  EXPECT_TRUE(read_paddle_combined(params).empty());
}

TEST_F(PaddleFileTest, SingleFileMustHoldExactlyOneTensor) {
  const std::string path = path_of("two");
  write_paddle_combined(path, {mixed_arrays()[0], mixed_arrays()[1]});
  const Error two = thrown_error([&] { read_paddle_tensor(path); }, ErrorKind::Data);
  EXPECT_EQ(two.where().file, path);
  expect_message_contains(two, {"tensor #0 at byte 0: 28 trailing bytes"});
  write_file_atomic(path, "");
  expect_message_contains(thrown_error([&] { read_paddle_tensor(path); }), {"tensor #0: the file is empty"});
  EXPECT_THROW(read_paddle_tensor(path_of("missing")), Error);
}

TEST_F(PaddleFileTest, TruncatedFileNamesTensorIndexAndOffset) {
  const std::string path = path_of("cut");
  write_file_atomic(path, kRecord23 + kRecord23 + kRecord23.substr(0, 49));
  PaddleTensorReader reader(path);
  reader.next();
  reader.next();
  const Error e = thrown_error([&] { reader.next("fc_0.w_0"); }, ErrorKind::Data);
  EXPECT_EQ(e.where().file, path);
  EXPECT_EQ(e.where().tensor, "fc_0.w_0");
  expect_message_contains(
      e, {"tensor #2 at byte 100: truncated data of FP32 [2, 3]: need 24 bytes at byte 126, 23 left"});
}

TEST(PaddleTensorErrors, TruncatedHeaderAndDesc) {
  expect_data_error(
      kRecord23 + kRecord23.substr(0, 10),
      {"tensor #1 at byte 50: truncated LoD level count: need 8 bytes at byte 54, 6 left"});
  expect_data_error(kRecord23.substr(0, 2), {"tensor #0 at byte 0: truncated LoDTensor version"});
  expect_data_error(kRecord23.substr(0, 14), {"tensor #0 at byte 0: truncated tensor version"});
  expect_data_error(kRecord23.substr(0, 18), {"truncated TensorDesc length"});
  expect_data_error(kRecord23.substr(0, 22),
                    {"truncated TensorDesc: need 6 bytes at byte 20, 2 left"});
}

TEST(PaddleTensorErrors, VersionsAndLengths) {
  std::string v1 = kRecord23;
  v1[0] = 1;
  expect_data_error(kRecord23 + v1, {"tensor #1 at byte 50: unsupported LoDTensor version 1"});
  std::string tv2 = kRecord23;
  tv2[12] = 2;
  expect_data_error(tv2, {"tensor #0 at byte 0: unsupported tensor version 2"});
  expect_data_error(le32(0) + le64(0) + le32(0) + le32(0xffffffffu) + kDesc23,
                    {"tensor #0 at byte 0: negative TensorDesc length -1"});
}

TEST(PaddleTensorErrors, LoD) {
  expect_data_error(le32(0) + le64(std::uint64_t(1) << 60) + kRecord23,
                    {"tensor #0 at byte 0: LoD level count 1152921504606846976 is above the limit of 16 (kMaxLodLevels)"});
  expect_data_error(le32(0) + le64(15) + kRecord23,
                    {"tensor #0 at byte 0: LoD level count 15 cannot fit in the "
                     "50 bytes left"});
  expect_data_error(le32(0) + le64(1) + le64(12) + std::string(12, '\0') + kRecord23.substr(12),
                    {"LoD level 0 has 12 bytes, not a multiple of 8"});
  expect_data_error(le32(0) + le64(1) + le64(800) + std::string(16, '\0'),
                    {"truncated LoD level 0: need 800 bytes at byte 20, 16 left"});
}

TEST(PaddleTensorErrors, DataTypes) {
  expect_data_error(record(std::string("\x08\x63\x10\x01", 4), "abcd"),
                    {"tensor #0 at byte 0: unknown data type 99"});
  expect_data_error(record(std::string("\x08\x17\x10\x01", 4), std::string(8, '\0')),
                    {"unsupported data type 23 (COMPLEX64)"});
  expect_data_error(record(std::string("\x10\x01", 2), "abcd"), {"TensorDesc has no data_type"});
  expect_data_error(record(std::string("\x0a\x01\x05", 3), ""),
                    {"TensorDesc: field 1 has wire type 2"});
}

TEST(PaddleTensorErrors, MalformedDesc) {
  expect_data_error(record(std::string("\x08\x05\x10", 3), ""),
                    {"TensorDesc: truncated or overlong varint"});
  expect_data_error(record(std::string("\x08\x05\x10") + std::string(11, '\xff'), ""),
                    {"TensorDesc: truncated or overlong varint"});
  expect_data_error(record(std::string("\x08\x05\x1b", 3), ""),
                    {"TensorDesc: field 3 has unsupported wire type 3"});
  expect_data_error(record(std::string("\x08\x05\x2a\x05\x01", 5), ""),
                    {"TensorDesc: field 5 is truncated"});
  expect_data_error(record(std::string("\x08\x05\x12\x04\x01", 5), ""),
                    {"TensorDesc: packed dims are truncated"});
  expect_data_error(record(std::string("\x00\x05", 2), ""), {"invalid field number 0"});
}

TEST(PaddleTensorErrors, DimsThatCannotBeRight) {
  const std::string minus_one = "\x10" + std::string(9, '\xff') + "\x01";
  expect_data_error(record("\x08\x05\x10\x02" + minus_one, floats({1, 2})),
                    {"tensor #0 at byte 0: negative dimension in dims [2, -1]"});
  // Sizes are checked before any allocation: 2^40 x 2^40 and 2^20 x 2^20 floats are above
  // limits::kMaxTensorBytes; 2^10 x 2^10 is not, and is checked against the bytes left.
  const std::string huge = std::string("\x10\x80\x80\x80\x80\x80\x20", 7);
  expect_data_error(record("\x08\x05" + huge + huge, floats({1})),
                    {"float32 [1099511627776, 1099511627776] is above the limit of 17179869184 bytes per tensor (kMaxTensorBytes)"});
  const std::string big = std::string("\x10\x80\x80\x40", 4);
  expect_data_error(record("\x08\x05" + big + big, floats({1})),
                    {"float32 [1048576, 1048576] is above the limit of 17179869184 bytes per tensor (kMaxTensorBytes)"});
  const std::string k = std::string("\x10\x80\x08", 3);
  expect_data_error(record("\x08\x05" + k + k, floats({1})),
                    {"truncated data of FP32 [1024, 1024]: need 4194304 bytes at byte 28, 4 left"});
  expect_data_error(kRecord23 + record(kDesc23, floats({1, 2, 3})),
                    {"tensor #1 at byte 50: truncated data of FP32 [2, 3]: need 24 bytes"});
}

TEST(PaddleTensorErrors, WritingRejectsInconsistentArrays) {
  NDArray bad = make_array<float>(DType::F32, {2, 2}, {1, 2, 3});
  std::string out;
  expect_message_contains(thrown_error([&] { append_paddle_tensor(out, bad); }, ErrorKind::Runtime),
                          {"holds 12 bytes, which does not fit float32 [2, 2]"});
  bad.shape = {-3, -1};
  expect_message_contains(
      thrown_error([&] { write_paddle_combined("/nonexistent/never_written", {mixed_arrays()[0], bad}); }),
      {"tensor #1: holds"});
}
