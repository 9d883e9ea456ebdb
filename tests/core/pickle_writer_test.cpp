// The Python 2-style pickle writer: what it writes reads back as the same tree.
#include <gtest/gtest.h>

#include <limits>

#include "pickle_test_util.h"

using namespace mvtag;
using namespace std::string_literals;  // binary literals keep their NUL bytes
using P = PickleValue;

TEST(PickleWriter, RoundTripsEveryValueType) {
  const NDArray f32 = NDArray::from_float({2, 3}, {1, 2, 3, 4, 5, 6});
  NDArray i16;
  i16.dtype = DType::I16;
  i16.shape = {2};
  i16.data = {0xff, 0xff, 0x2c, 0x01};  // -1, 300
  NDArray scalar_bool;
  scalar_bool.dtype = DType::Bool;
  scalar_bool.data = {1};
  std::vector<P> long_list;
  for (int i = 0; i < 1200; ++i) long_list.push_back(P::of_str("s" + std::to_string(i)));  // > 256 memo slots
  const P value = P::of_dict({
      {P::of_str("none"), P::none()},
      {P::of_str("bools"), P::of_list({P::of_bool(true), P::of_bool(false)})},
      {P::of_str("ints"), P::of_list({P::of_int(0), P::of_int(255), P::of_int(256), P::of_int(65536), P::of_int(-1),
                                      P::of_int(1LL << 40), P::of_int(std::numeric_limits<std::int64_t>::min())})},
      {P::of_str("floats"), P::of_tuple({P::of_float(1.5), P::of_float(-1e-300)})},
      {P::of_str("text"), P::of_str("\xe4\xb8\xad caf\xc3\xa9")},
      {P::of_str(std::string(300, 'x')), P::of_str("")},
      {P::of_int(7), P::of_tuple({})},
      {P::of_str("tuple4"), P::of_tuple({P::of_int(1), P::of_int(2), P::of_int(3), P::of_int(4)})},
      {P::of_str("arrays"), P::of_list({P::of_array(f32), P::of_array(f32), P::of_array(i16), P::of_array(scalar_bool)})},
      {P::of_str("long"), P::of_list(long_list)},
  });
  const std::string bytes = write_pickle(value);
  EXPECT_EQ(bytes.substr(0, 2), "\x80\x02");
  EXPECT_NE(bytes.find("cnumpy.core.multiarray\n_reconstruct\n"), std::string::npos);
  EXPECT_EQ(parse_pickle(bytes, "written"), value);
  // Bytes are written as a Python 2 str, which reads back as latin-1 text.
  EXPECT_EQ(parse_pickle(write_pickle(P::of_bytes("\xff")), "t"), P::of_str("\xc3\xbf"));
}

TEST(PickleWriter, RefusesWhatNumpyCannotHold) {
  NDArray bf16;
  bf16.dtype = DType::BF16;
  bf16.shape = {1};
  bf16.data = {0, 0};
  EXPECT_THROW(write_pickle(P::of_array(bf16)), Error);
  P deep;
  for (int i = 0; i < 1100; ++i) {
    P outer = P::of_list({});
    outer.items.push_back(std::move(deep));
    deep = std::move(outer);
  }
  EXPECT_THROW(write_pickle(deep), Error);
}
