// pickle_to_json: every value type as JSON, with expectations worked out by hand.
#include "mvtag/core/formats/pickle_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "test_util.h"

using namespace mvtag;
using namespace std::string_literals;  // binary literals keep their NUL bytes
using P = PickleValue;
using Json = nlohmann::ordered_json;

namespace {

std::string dumped(const P& v, std::size_t max_values = 0) { return pickle_to_json(v, max_values).dump(); }

}  // namespace

TEST(PickleJson, ScalarsAsThemselvesNonFiniteFloatsAsStrings) {
  EXPECT_EQ(dumped(P::none()), "null");
  EXPECT_EQ(dumped(P::of_bool(false)), "false");
  EXPECT_EQ(dumped(P::of_int(std::numeric_limits<std::int64_t>::min())), "-9223372036854775808");
  EXPECT_EQ(dumped(P::of_float(-2.5)), "-2.5");
  EXPECT_EQ(dumped(P::of_float(std::nan(""))), "\"nan\"");
  EXPECT_EQ(dumped(P::of_float(HUGE_VAL)), "\"inf\"");
  EXPECT_EQ(dumped(P::of_float(-HUGE_VAL)), "\"-inf\"");
}

TEST(PickleJson, LongTextAndBytesAreSummarized) {
  EXPECT_EQ(pickle_to_json(P::of_str(std::string(256, 'x'))), Json(std::string(256, 'x')));
  std::string accents = "a";
  for (int i = 0; i < 200; ++i) accents += "\xc3\xa9";  // 401 bytes
  // Byte 64 is inside the 32nd 'é' (bytes 63 and 64): the prefix stops before it, at 63 bytes.
  std::string prefix = "a";
  for (int i = 0; i < 31; ++i) prefix += "\xc3\xa9";
  EXPECT_EQ(pickle_to_json(P::of_str(accents)), (Json{{"str_length", 401}, {"prefix", prefix}}));
  EXPECT_EQ(dumped(P::of_str(std::string(300, 'y'))),
            "{\"str_length\":300,\"prefix\":\"" + std::string(64, 'y') + "\"}");

  EXPECT_EQ(dumped(P::of_bytes("\x00\xff" "ab"s)), "{\"bytes\":4,\"hex\":\"00ff6162\"}");
  EXPECT_EQ(dumped(P::of_bytes("")), "{\"bytes\":0,\"hex\":\"\"}");
  std::string hex32;
  for (int i = 0; i < 32; ++i) hex32 += "10";
  EXPECT_EQ(pickle_to_json(P::of_bytes(std::string(32, '\x10'))), (Json{{"bytes", 32}, {"hex", hex32}}));
  EXPECT_EQ(dumped(P::of_bytes(std::string(33, '\x10'))), "{\"bytes\":33}");
}

TEST(PickleJson, ContainersKeepOrderAndKeysPrintAsInPython) {
  EXPECT_EQ(dumped(P::of_list({P::of_int(1), P::of_tuple({P::of_str("a"), P::none()}), P::of_list({})})),
            "[1,[\"a\",null],[]]");
  const P d = P::of_dict({
      {P::of_str("z"), P::of_int(0)},
      {P::of_int(-3), P::of_int(1)},
      {P::of_bool(true), P::of_int(2)},
      {P::none(), P::of_int(3)},
      {P::of_float(1.5), P::of_int(4)},
      {P::of_bytes("k\xff"), P::of_int(5)},
      {P::of_tuple({P::of_int(1)}), P::of_int(6)},
      {P::of_tuple({P::of_int(1), P::of_str("a")}), P::of_int(7)},
      {P::of_list({}), P::of_int(8)},
      {P::of_str("-3"), P::of_int(9)},  // prints as the int key above: its place, this value
  });
  EXPECT_EQ(dumped(d),
            "{\"z\":0,\"-3\":9,\"True\":2,\"None\":3,\"1.5\":4,\"b'k\xc3\xbf'\":5,\"(1,)\":6,\"(1, a)\":7,"
            "\"<list>\":8}");
}

TEST(PickleJson, ArraysShowDtypeShapeAndLeadingValues) {
  const NDArray f32 = NDArray::from_float({2, 2}, {1.5f, -2.0f, std::nanf(""), HUGE_VALF});
  EXPECT_EQ(dumped(P::of_array(f32)), "{\"dtype\":\"float32\",\"shape\":[2,2]}");
  EXPECT_EQ(dumped(P::of_array(f32), 3), "{\"dtype\":\"float32\",\"shape\":[2,2],\"values\":[1.5,-2.0,\"nan\"]}");
  EXPECT_EQ(dumped(P::of_array(f32), 10),
            "{\"dtype\":\"float32\",\"shape\":[2,2],\"values\":[1.5,-2.0,\"nan\",\"inf\"]}");
  EXPECT_EQ(dumped(P::of_array(mvtag::test::make_array<std::int64_t>(DType::I64, {2}, {-1, 1LL << 62})), 5),
            "{\"dtype\":\"int64\",\"shape\":[2],\"values\":[-1,4611686018427387904]}");
  EXPECT_EQ(dumped(P::of_array(mvtag::test::make_array<std::uint8_t>(DType::Bool, {3}, {1, 0, 1})), 5),
            "{\"dtype\":\"bool\",\"shape\":[3],\"values\":[true,false,true]}");
  EXPECT_EQ(dumped(P::of_array(mvtag::test::make_array<std::uint8_t>(DType::U8, {1}, {255})), 5),
            "{\"dtype\":\"uint8\",\"shape\":[1],\"values\":[255]}");
  // float16 0x3e00 = 1.5, bfloat16 0xc040 = -3.0
  EXPECT_EQ(dumped(P::of_array(mvtag::test::make_array<std::uint16_t>(DType::F16, {1}, {0x3e00})), 1),
            "{\"dtype\":\"float16\",\"shape\":[1],\"values\":[1.5]}");
  EXPECT_EQ(dumped(P::of_array(mvtag::test::make_array<std::uint16_t>(DType::BF16, {1}, {0xc040})), 1),
            "{\"dtype\":\"bfloat16\",\"shape\":[1],\"values\":[-3.0]}");
  NDArray scalar = mvtag::test::make_array<double>(DType::F64, {}, {0.1});
  EXPECT_EQ(dumped(P::of_array(scalar), 1), "{\"dtype\":\"float64\",\"shape\":[],\"values\":[0.1]}");
  EXPECT_EQ(dumped(P::of_dict({{P::of_str("a"), P::of_array(scalar)}}), 0),
            "{\"a\":{\"dtype\":\"float64\",\"shape\":[]}}");
}
