// The unpickler's machine: every value type at every protocol, hand-made opcode streams
// (expected values worked out by hand), and broken, truncated, fuzzed and oversized input.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <random>

#include "pickle_test_util.h"

using namespace mvtag;
using namespace mvtag::test::pickle;
using namespace std::string_literals;  // binary literals keep their NUL bytes
using P = PickleValue;

// ----- what Python wrote, read back

TEST(PickleReader, PythonTwoStringsReadAsLatin1Text) {
  const P record = load_pickle(kDir + "features_py2_latin1_id.pkl");
  EXPECT_EQ(at(record, "video"), P::of_str("caf\xc3\xa9"));
  EXPECT_EQ(at(load_pickle(kDir + "features_py2_proto0.pkl"), "video"), P::of_str("py2_video"));
  EXPECT_EQ(at(load_pickle(kDir + "features_bytes_id.pkl"), "video"), P::of_bytes("bytes_id"));
  EXPECT_EQ(at(load_pickle(kDir + "features_unicode_id.pkl"), "video"), P::of_str("\xe8\xa7\x86\xe9\xa2\x91_01"));
  EXPECT_EQ(at(load_pickle(kDir + "features_int_id.pkl"), "video"), P::of_int(12345));
}

TEST(PickleReader, ReadsEveryValueTypeAtEveryProtocol) {
  const auto expected_arrays = manifest()["arrays"];
  for (const char* name : {"misc_py3_proto0.pkl", "misc_py3_proto2.pkl", "misc_py3_proto4.pkl",
                           "misc_py3_proto5.pkl", "misc_py2_proto0.pkl", "misc_py2_proto2.pkl"}) {
    SCOPED_TRACE(name);
    const bool py2 = std::string(name).find("py2") != std::string::npos;
    const P v = load_pickle(kDir + name);
    ASSERT_EQ(v.type, P::Type::Dict);
    EXPECT_EQ(at(v, "none"), P::none());
    EXPECT_EQ(at(v, "true"), P::of_bool(true));
    EXPECT_EQ(at(v, "false"), P::of_bool(false));
    EXPECT_EQ(at(v, "small"), P::of_int(7));
    EXPECT_EQ(at(v, "neg"), P::of_int(-3));
    EXPECT_EQ(at(v, "i16"), P::of_int(40000));
    EXPECT_EQ(at(v, "i32"), P::of_int(-2147483648LL));
    EXPECT_EQ(at(v, "big"), P::of_int(1LL << 40));
    EXPECT_EQ(at(v, "min64"), P::of_int(std::numeric_limits<std::int64_t>::min()));
    EXPECT_EQ(at(v, "max64"), P::of_int(std::numeric_limits<std::int64_t>::max()));
    EXPECT_EQ(at(v, "float"), P::of_float(1.5));
    EXPECT_EQ(at(v, "neg_float"), P::of_float(-2.25e-5));
    EXPECT_EQ(at(v, "text"), P::of_str("h\xc3\xa9llo \xe4\xb8\xad\xe6\x96\x87"));
    if (py2) {  // Python 2 str: latin-1 text
      EXPECT_EQ(at(v, "bytes"), P::of_str("\x00\xc3\xbf" "ab"s));
      EXPECT_EQ(at(v, "empty_bytes"), P::of_str(""));
    } else {
      EXPECT_EQ(at(v, "bytes"), P::of_bytes("\x00\xff" "ab"s));
      EXPECT_EQ(at(v, "empty_bytes"), P::of_bytes(""));
    }
    EXPECT_EQ(at(v, "list"), P::of_list({P::of_int(1), P::of_str("two"), P::of_float(3.0), P::of_list({P::of_int(4)})}));
    EXPECT_EQ(at(v, "tuple"), P::of_tuple({P::of_int(1), P::of_int(2)}));
    EXPECT_EQ(at(v, "tuple5"), P::of_tuple({P::of_int(1), P::of_int(2), P::of_int(3), P::of_int(4), P::of_int(5)}));
    EXPECT_EQ(at(v, "empty_tuple"), P::of_tuple({}));
    EXPECT_EQ(at(v, "empty_list"), P::of_list({}));
    EXPECT_EQ(at(v, "nested"), P::of_dict({{P::of_str("a"), P::of_dict({{P::of_str("b"), P::of_list({P::none()})}})}}));
    const P* int_key = find_key(v, P::of_int(1));
    ASSERT_NE(int_key, nullptr);
    EXPECT_EQ(*int_key, P::of_str("int key"));
    const P* bytes_key = find_key(v, py2 ? P::of_str("k") : P::of_bytes("k"));
    ASSERT_NE(bytes_key, nullptr);
    EXPECT_EQ(*bytes_key, P::of_str("bytes key"));
    EXPECT_EQ(at(v, "np_f32"), P::of_float(1.5));
    EXPECT_EQ(at(v, "np_i64"), P::of_int(-9));
    EXPECT_EQ(at(v, "np_bool"), P::of_bool(true));
    const P& shared = at(v, "shared");
    ASSERT_EQ(shared.items.size(), 2u);
    EXPECT_EQ(shared.items[0], shared.items[1]);
    EXPECT_EQ(shared.items[0].array.to_float(), (std::vector<float>{1.0f, 2.0f}));

    const P& arrays = at(v, "arrays");
    ASSERT_EQ(arrays.entries.size(), expected_arrays.size());
    for (const auto& [key, facts] : expected_arrays.items()) {
      SCOPED_TRACE(key);
      const NDArray& a = at(arrays, key).array;
      EXPECT_EQ(dtype_name(a.dtype), facts["dtype"].get<std::string>());
      EXPECT_EQ(a.shape, facts["shape"].get<std::vector<std::int64_t>>());
      std::vector<double> want;
      for (const auto& x : facts["values"]) want.push_back(x.is_boolean() ? (x.get<bool>() ? 1.0 : 0.0) : x.get<double>());
      const std::vector<double> got = as_doubles(a);
      ASSERT_EQ(got.size(), want.size());
      for (std::size_t i = 0; i < got.size(); ++i) {
        // int64 and float64 values beyond float32 are checked through their float32 rounding.
        EXPECT_EQ(got[i], static_cast<double>(static_cast<float>(want[i]))) << "value " << i;
      }
    }
    // Exact checks where float32 would hide a mistake.
    const NDArray& i64 = at(arrays, "i64").array;
    std::int64_t second;
    std::memcpy(&second, i64.data.data() + 8, 8);
    EXPECT_EQ(second, 1LL << 62);
    const NDArray& f64 = at(arrays, "f64").array;
    double first;
    std::memcpy(&first, f64.data.data(), 8);
    EXPECT_EQ(first, 1e300);
  }
}

// ----- hand-made opcode streams (expected values worked out by hand)

TEST(PickleReader, DecodesIntegerEncodings) {
  EXPECT_EQ(parse_pickle("\x80\x02J\xff\xff\xff\xff.", "t"), P::of_int(-1));
  EXPECT_EQ(parse_pickle("\x80\x02M\x34\x12.", "t"), P::of_int(0x1234));
  EXPECT_EQ(parse_pickle("\x80\x02\x8a\x00."s, "t"), P::of_int(0));
  EXPECT_EQ(parse_pickle("\x80\x02\x8a\x01\xff.", "t"), P::of_int(-1));
  EXPECT_EQ(parse_pickle("\x80\x02\x8a\x02\x00\x80."s, "t"), P::of_int(-32768));
  EXPECT_EQ(parse_pickle("\x80\x02\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f.", "t"),
            P::of_int(std::numeric_limits<std::int64_t>::max()));
  // 2**63 needs nine bytes (a zero sign byte): too big.
  const Error e = parse_error("\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x80\x00."s);
  EXPECT_NE(e.message().find("64 bits"), std::string::npos) << e.what();
  // -2**63 padded with a redundant sign byte still fits.
  EXPECT_EQ(parse_pickle("\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x80\xff."s, "t"),
            P::of_int(std::numeric_limits<std::int64_t>::min()));
  EXPECT_EQ(parse_pickle("I-42\n.", "t"), P::of_int(-42));
  EXPECT_EQ(parse_pickle("I01\n.", "t"), P::of_bool(true));
  EXPECT_EQ(parse_pickle("L123L\n.", "t"), P::of_int(123));
  EXPECT_NE(parse_error("L99999999999999999999L\n.").message().find("64 bits"), std::string::npos);
}

TEST(PickleReader, DecodesFloatsAndStrings) {
  EXPECT_EQ(parse_pickle("G?\xf8\x00\x00\x00\x00\x00\x00."s, "t"), P::of_float(1.5));
  EXPECT_EQ(parse_pickle("F-2.5e-3\n.", "t"), P::of_float(-2.5e-3));
  // Python 2 repr escapes: \x41, \n, \', \\, octal \101.
  EXPECT_EQ(parse_pickle("S'a\\x41\\n\\'\\\\\\101'\n.", "t"), P::of_str("aA\n'\\A"));
  EXPECT_EQ(parse_pickle("S\"it's\"\n.", "t"), P::of_str("it's"));
  EXPECT_NE(parse_error("S'unterminated\n.").message().find("quoted"), std::string::npos);
  EXPECT_NE(parse_error("S'\\x4'\n.").message().find("escape"), std::string::npos);
  // raw-unicode-escape: \u00e9 is an escape, \\u0041 (even backslashes) is not.
  EXPECT_EQ(parse_pickle("V\\u00e9\\\\u0041\n.", "t"), P::of_str("\xc3\xa9\\\\u0041"));
  EXPECT_EQ(parse_pickle("V\\U0001f600\n.", "t"), P::of_str("\xf0\x9f\x98\x80"));
  EXPECT_EQ(parse_pickle("\x80\x04\x8c\x02\xc3\xa9.", "t"), P::of_str("\xc3\xa9"));
  EXPECT_NE(parse_error("\x80\x04\x8c\x02\xc3\x28.").message().find("UTF-8"), std::string::npos);
  EXPECT_EQ(parse_pickle("\x80\x04\x8c\x03\xed\xa0\x80.", "t"), P::of_str("\xed\xa0\x80"));  // surrogatepass
  EXPECT_EQ(parse_pickle("\x80\x03""C\x02hi.", "t"), P::of_bytes("hi"));
}

TEST(PickleReader, StackMarkAndMemoBehaveAsInPython) {
  // MARK 1 2 POP_MARK 3 DUP TUPLE2 -> (3, 3)
  EXPECT_EQ(parse_pickle("\x80\x02(K\x01K\x02" "1K\x03" "2\x86.", "t"), P::of_tuple({P::of_int(3), P::of_int(3)}));
  // POP with nothing above the mark pops the mark.
  EXPECT_EQ(parse_pickle("\x80\x02(0K\x01.", "t"), P::of_int(1));
  // A list memoized empty, referenced twice, then appended to: both references see [5].
  const P shared = parse_pickle("\x80\x02]q\x00h\x00\x86h\x00K\x05" "a0."s, "t");
  EXPECT_EQ(shared, P::of_tuple({P::of_list({P::of_int(5)}), P::of_list({P::of_int(5)})}));
  // Equal keys collide as in Python (1 == True): first key kept, last value wins.
  EXPECT_EQ(parse_pickle("\x80\x02}(K\x01U\x01" "a\x88U\x01" "bu.", "t"), P::of_dict({{P::of_int(1), P::of_str("b")}}));
  // Trailing bytes after STOP are ignored, as pickle.load does.
  EXPECT_EQ(parse_pickle("N.garbage", "t"), P::none());
  EXPECT_NE(parse_error("\x80\x02}]K\x01s.").message().find("unhashable"), std::string::npos);
  EXPECT_NE(parse_error("\x80\x02(\x85.").message().find("underflow"), std::string::npos);
  EXPECT_NE(parse_error("\x80\x02K\x01K\x02" "a.").message().find("cannot append to int"), std::string::npos);
}

// ----- broken input

TEST(PickleReader, ExplainsUnsupportedAndBrokenFiles) {
  const auto m = manifest()["errors"];
  ASSERT_GE(m.size(), 14u);
  for (const auto& [name, expected] : m.items()) {
    const Error e = load_error(name);
    const std::string msg = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::Data) << msg;
    EXPECT_EQ(msg.rfind(kDir + name + ": byte ", 0), 0u) << msg;
    EXPECT_NE(msg.find(expected.get<std::string>()), std::string::npos) << name << ": " << msg;
  }
}

TEST(PickleReader, NeverTrustsLengthsOrDepths) {
  // A BINUNICODE8 claiming 2**63 bytes: refused before any allocation.
  EXPECT_NE(parse_error("\x80\x04\x8d\x00\x00\x00\x00\x00\x00\x00\x80."s).message().find("length"),
            std::string::npos);
  EXPECT_NE(parse_error("\x80\x02T\xff\xff\xff\xff.").message().find("negative length"), std::string::npos);
  EXPECT_NE(parse_error("\x80\x04\x95\x00\x00\x00\x00\x00\x00\x01\x00N."s).message().find("length"),
            std::string::npos);
  // Lists nested 900 deep are fine; 1500 deep is refused instead of overflowing the stack.
  EXPECT_NO_THROW(parse_pickle(std::string(900, ']') + std::string(899, 'a') + ".", "t"));
  EXPECT_NE(parse_error(std::string(1500, ']') + std::string(1499, 'a') + ".").message().find("nesting"),
            std::string::npos);
  // "Billion laughs": each level a list holding the previous one twice; 2**40 values if expanded.
  std::string laughs = "\x80\x02]q\x00"s;
  for (int i = 0; i < 40; ++i) laughs += "0(h\x00h\x00lq\x00"s;
  EXPECT_NE(parse_error(laughs + ".").message().find("expand"), std::string::npos);
}

TEST(PickleReader, EveryTruncationIsAnErrorNeverACrash) {
  for (const auto& name : fixture_files()) {
    const std::string data = read_file(kDir + name);
    if (data.size() > 4096 || name.rfind("err_", 0) == 0 || name.rfind("evil_", 0) == 0) continue;
    for (std::size_t n = 0; n < data.size(); ++n) {
      try {
        parse_pickle(std::string_view(data).substr(0, n), name);
        ADD_FAILURE() << name << " cut to " << n << " bytes parsed without error";
      } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Data);
      }
    }
  }
}

TEST(PickleReader, FuzzedFixturesReturnOrThrowMvtagError) {
  std::mt19937 rng(12345);
  int errors = 0, parsed = 0;
  for (const auto& name : fixture_files()) {
    const std::string original = read_file(kDir + name);
    if (original.size() > 4096) continue;
    for (int round = 0; round < 150; ++round) {
      std::string data = original;
      std::uniform_int_distribution<std::size_t> pos(0, data.size() - 1);
      switch (round % 4) {
        case 0:
          for (int k = 0; k < 1 + round % 3; ++k) data[pos(rng)] = static_cast<char>(rng());
          break;
        case 1: data[pos(rng)] ^= static_cast<char>(1 << (rng() % 8)); break;
        case 2: data.insert(pos(rng), 1, static_cast<char>(rng())); break;
        case 3: {
          const std::size_t a = pos(rng), b = pos(rng);
          data.insert(std::min(a, b), data.substr(std::min(a, b), std::max(a, b) - std::min(a, b)));
          break;
        }
      }
      try {
        parse_pickle(data, name);
        ++parsed;
      } catch (const Error&) {
        ++errors;
      }
    }
  }
  EXPECT_GT(errors, 0);
  EXPECT_GT(parsed, 0);
}
