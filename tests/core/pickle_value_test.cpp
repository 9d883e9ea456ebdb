// PickleValue, the tree the reader hands out: constructors, lookup, equality, type names and
// latin-1 text.
#include <gtest/gtest.h>

#include "mvtag/core/formats/pickle.h"

using namespace mvtag;
using namespace std::string_literals;  // binary literals keep their NUL bytes
using P = PickleValue;

TEST(PickleValue, ConstructorsSetTypeAndPayload) {
  EXPECT_EQ(P::none().type, P::Type::None);
  EXPECT_TRUE(P::of_bool(true).boolean);
  EXPECT_EQ(P::of_int(-7).integer, -7);
  EXPECT_EQ(P::of_float(0.25).real, 0.25);
  EXPECT_EQ(P::of_str("t").type, P::Type::Str);
  EXPECT_EQ(P::of_bytes("\x00"s).text, "\x00"s);
  EXPECT_EQ(P::of_list({P::none()}).items.size(), 1u);
  EXPECT_EQ(P::of_tuple({}).type, P::Type::Tuple);
  const NDArray a = NDArray::from_float({2}, {1, 2});
  EXPECT_EQ(P::of_array(a).array.shape, (std::vector<std::int64_t>{2}));
}

TEST(PickleValue, FindLooksUpStrKeysOfADictOnly) {
  const P d = P::of_dict({{P::of_str("a"), P::of_int(1)}, {P::of_bytes("b"), P::of_int(2)}, {P::of_int(3), P::none()}});
  ASSERT_NE(d.find("a"), nullptr);
  EXPECT_EQ(*d.find("a"), P::of_int(1));
  EXPECT_EQ(d.find("b"), nullptr);  // a bytes key is not the str 'b'
  EXPECT_EQ(d.find("3"), nullptr);
  EXPECT_EQ(P::of_list({P::of_str("a")}).find("a"), nullptr);
}

TEST(PickleValue, EqualityIsStructural) {
  EXPECT_EQ(P::of_list({P::of_int(1)}), P::of_list({P::of_int(1)}));
  EXPECT_NE(P::of_list({P::of_int(1)}), P::of_tuple({P::of_int(1)}));
  EXPECT_NE(P::of_str("x"), P::of_bytes("x"));
  EXPECT_NE(P::of_int(1), P::of_float(1.0));
  EXPECT_NE(P::of_dict({{P::of_str("a"), P::of_int(1)}}), P::of_dict({{P::of_str("a"), P::of_int(2)}}));
  NDArray a = NDArray::from_float({2}, {1, 2});
  NDArray reshaped = a;
  reshaped.shape = {1, 2};
  EXPECT_EQ(P::of_array(a), P::of_array(NDArray::from_float({2}, {1, 2})));
  EXPECT_NE(P::of_array(a), P::of_array(reshaped));
  EXPECT_NE(P::of_array(a), P::of_array(NDArray::from_float({2}, {1, 3})));
}

TEST(PickleValue, TypeNamesAreNumpysAndPythons) {
  EXPECT_STREQ(pickle_type_name(P::Type::None), "None");
  EXPECT_STREQ(pickle_type_name(P::Type::Str), "str");
  EXPECT_STREQ(pickle_type_name(P::Type::Bytes), "bytes");
  EXPECT_STREQ(pickle_type_name(P::Type::Dict), "dict");
  EXPECT_STREQ(pickle_type_name(P::Type::Array), "ndarray");
}

TEST(PickleValue, Latin1BytesBecomeUtf8Text) {
  EXPECT_EQ(latin1_to_utf8("caf\xe9"), "caf\xc3\xa9");
  EXPECT_EQ(latin1_to_utf8("\x00\x7f\x80\xff"s), "\x00\x7f\xc2\x80\xc3\xbf"s);
  EXPECT_EQ(latin1_to_utf8(""), "");
}
