// numpy arrays, dtypes and scalars in pickles: fixtures numpy 1.x and 2.x wrote at every
// protocol (tools/make_pickle_fixtures.py), big-endian and Fortran-ordered data, value lists.
#include <gtest/gtest.h>

#include <cmath>

#include "pickle_test_util.h"

using namespace mvtag;
using namespace mvtag::test::pickle;
using namespace std::string_literals;  // binary literals keep their NUL bytes
using P = PickleValue;

namespace {

void expect_array_like_numpy(const NDArray& a, const nlohmann::json& facts, const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(dtype_name(a.dtype), facts["dtype"].get<std::string>());
  EXPECT_EQ(a.shape, facts["shape"].get<std::vector<std::int64_t>>());
  const std::vector<double> v = as_doubles(a);
  double sum = 0.0;
  for (double x : v) sum += x;
  EXPECT_NEAR(sum, facts["sum"].get<double>(), 1e-9 * (1.0 + std::abs(sum)));
  const auto first = facts["first"].get<std::vector<double>>();
  ASSERT_LE(first.size(), v.size());
  for (std::size_t i = 0; i < first.size(); ++i) EXPECT_EQ(v[i], first[i]) << "value " << i;
}

}  // namespace

TEST(PickleReader, ReadsEveryFeatureFixtureAsNumpySawIt) {
  const auto m = manifest();
  ASSERT_GE(m["features"].size(), 20u);
  for (const auto& [name, facts] : m["features"].items()) {
    SCOPED_TRACE(name);
    const P record = load_pickle(kDir + name);
    const P& feature = at(record, "feature");
    expect_array_like_numpy(at(feature, "image_pkl").array, facts["rgb"], "rgb");
    expect_array_like_numpy(at(feature, "audio_pkl").array, facts["audio"], "audio");
  }
}

TEST(PickleReader, AllProtocolsAndStylesGiveTheSameArrays) {
  const P reference = at(load_pickle(kDir + "features_py3_proto2.pkl"), "feature");
  for (const char* name :
       {"features_py3_proto0.pkl", "features_py3_proto1.pkl", "features_py3_proto3.pkl", "features_py3_proto4.pkl",
        "features_py3_proto5.pkl", "features_numpy2_proto2.pkl", "features_numpy2_proto4.pkl",
        "features_numpy2_proto5.pkl", "features_fortran_proto2.pkl", "features_fortran_proto5.pkl",
        "features_int_id.pkl", "features_py2_latin1_id.pkl"}) {
    EXPECT_EQ(at(load_pickle(kDir + name), "feature"), reference) << name;
  }
  const P big_endian = at(at(load_pickle(kDir + "features_big_endian.pkl"), "feature"), "image_pkl");
  EXPECT_EQ(big_endian, at(reference, "image_pkl"));  // '>f4' swapped to little-endian float32
}

TEST(PickleReader, ArrayStateMayBeAValueList) {
  // _reconstruct + BUILD with state (1, (2,), dtype('f8'), False, [1.5, 2]).
  const std::string data =
      "\x80\x02" "cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01" "b\x87R"
      "(K\x01K\x02\x85" "cnumpy\ndtype\nU\x02" "f8\x89\x88\x87R(K\x03U\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
      "\x89](G?\xf8\x00\x00\x00\x00\x00\x00K\x02" "et" "b."s;
  const P v = parse_pickle(data, "t");
  ASSERT_EQ(v.type, P::Type::Array);
  EXPECT_EQ(v.array.dtype, DType::F64);
  EXPECT_EQ(v.array.shape, (std::vector<std::int64_t>{2}));
  EXPECT_EQ(v.array.to_float(), (std::vector<float>{1.5f, 2.0f}));
}

// Found by fuzz_pickle under UBSan (the fuzzer's input, kept as a fixture): a numpy dtype 'u'
// of 9286750241 bytes overflowed atoi() and the int that turned it into bits for the message.
TEST(PickleReader, AnAbsurdUnsignedDtypeSizeIsNamedWithoutOverflow) {
  const Error e = load_error("fuzz_dtype_huge_uint.pkl");
  EXPECT_NE(std::string(e.what()).find(kDir + "fuzz_dtype_huge_uint.pkl"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("(unsigned integers of 9286750241 bytes) is not supported"), std::string::npos)
      << e.what();
}
