// Expected values are what Python 3's eval()/repr() give for the same text.
#include <gtest/gtest.h>

#include <cmath>

#include "mvtag/core/config/py_literal.h"

using namespace mvtag;
using Kind = PyValue::Kind;

namespace {

PyValue parse(const std::string& text) {
  std::string why;
  const auto v = parse_py_literal(text, &why);
  EXPECT_TRUE(v.has_value()) << "'" << text << "': " << why;
  return v.value_or(PyValue::of_str("<not a literal>"));
}

bool is_literal(const std::string& text) { return parse_py_literal(text).has_value(); }

PyValue ints(std::initializer_list<std::int64_t> values) {
  std::vector<PyValue> items;
  for (auto v : values) items.push_back(PyValue::of_int(v));
  return PyValue::list(items);
}

}  // namespace

TEST(PyLiteral, Constants) {
  EXPECT_EQ(parse("None"), PyValue::none());
  EXPECT_EQ(parse("True"), PyValue::of_bool(true));
  EXPECT_EQ(parse("False"), PyValue::of_bool(false));
  EXPECT_FALSE(is_literal("true"));  // a name, not a literal: the original kept the text
  EXPECT_FALSE(is_literal("none"));
  EXPECT_FALSE(is_literal("Truex"));
}

TEST(PyLiteral, Integers) {
  EXPECT_EQ(parse("50"), PyValue::of_int(50));
  EXPECT_EQ(parse("-1"), PyValue::of_int(-1));
  EXPECT_EQ(parse("+7"), PyValue::of_int(7));
  EXPECT_EQ(parse("- -3"), PyValue::of_int(3));
  EXPECT_EQ(parse("-(5)"), PyValue::of_int(-5));
  EXPECT_EQ(parse("0"), PyValue::of_int(0));
  EXPECT_EQ(parse("000"), PyValue::of_int(0));
  EXPECT_EQ(parse("0xFF"), PyValue::of_int(255));
  EXPECT_EQ(parse("0o17"), PyValue::of_int(15));
  EXPECT_EQ(parse("0b101"), PyValue::of_int(5));
  EXPECT_EQ(parse("-True"), PyValue::of_int(-1));
  EXPECT_EQ(parse("9223372036854775807"), PyValue::of_int(INT64_MAX));
  EXPECT_FALSE(is_literal("9223372036854775808"));  // beyond 64 bits
  EXPECT_FALSE(is_literal("007"));                  // a SyntaxError in Python 3
  EXPECT_FALSE(is_literal("1_000"));
  EXPECT_FALSE(is_literal("0x"));
  EXPECT_FALSE(is_literal("0b102"));
  EXPECT_FALSE(is_literal("12abc"));
  EXPECT_FALSE(is_literal("1j"));
  EXPECT_FALSE(is_literal("-'a'"));
}

TEST(PyLiteral, Floats) {
  EXPECT_EQ(parse("8e-4"), PyValue::of_float(8e-4));
  EXPECT_EQ(parse("0.0007"), PyValue::of_float(0.0007));
  EXPECT_EQ(parse("0.5"), PyValue::of_float(0.5));
  EXPECT_EQ(parse("1."), PyValue::of_float(1.0));
  EXPECT_EQ(parse(".5"), PyValue::of_float(0.5));
  EXPECT_EQ(parse("1.e5"), PyValue::of_float(100000.0));
  EXPECT_EQ(parse("1E+2"), PyValue::of_float(100.0));
  EXPECT_EQ(parse("-2.5"), PyValue::of_float(-2.5));
  EXPECT_EQ(parse("01e5"), PyValue::of_float(100000.0));  // leading zeros are fine in floats
  EXPECT_EQ(parse("1e-400"), PyValue::of_float(0.0));
  EXPECT_TRUE(std::isinf(parse("1e999").real));
  EXPECT_FALSE(is_literal("1e"));
  EXPECT_FALSE(is_literal("1.2.3"));
  EXPECT_FALSE(is_literal("."));
  EXPECT_FALSE(is_literal("inf"));  // a name in Python
  // An int stays an int: kinds differ even when the numbers are equal.
  EXPECT_NE(parse("1"), parse("1.0"));
}

TEST(PyLiteral, Strings) {
  EXPECT_EQ(parse("\"./datasets/class.txt\""), PyValue::of_str("./datasets/class.txt"));
  EXPECT_EQ(parse("'text_guide'"), PyValue::of_str("text_guide"));
  EXPECT_EQ(parse("\"\""), PyValue::of_str(""));
  EXPECT_EQ(parse("'it\\'s'"), PyValue::of_str("it's"));
  EXPECT_EQ(parse("\"say \\\"hi\\\"\""), PyValue::of_str("say \"hi\""));
  EXPECT_EQ(parse("'a\\tb\\nc\\\\d'"), PyValue::of_str("a\tb\nc\\d"));
  EXPECT_EQ(parse("'\\101\\x41\\u00e9\\U0001F600\\d'"), PyValue::of_str("AA\xC3\xA9\xF0\x9F\x98\x80\\d"));
  EXPECT_EQ(parse("'\\0'"), PyValue::of_str(std::string(1, '\0')));
  EXPECT_EQ(parse("r'\\n'"), PyValue::of_str("\\n"));
  EXPECT_EQ(parse("R\"C:\\data\""), PyValue::of_str("C:\\data"));
  EXPECT_EQ(parse("u'x'"), PyValue::of_str("x"));
  EXPECT_EQ(parse("'a' \"b\""), PyValue::of_str("ab"));  // adjacent literals concatenate
  EXPECT_EQ(parse("'''a'b'''"), PyValue::of_str("a'b"));
  EXPECT_EQ(parse("'\xE4\xB8\xAD\xE6\x96\x87'"), PyValue::of_str("\xE4\xB8\xAD\xE6\x96\x87"));  // UTF-8 as is
  EXPECT_EQ(parse("'a # b'"), PyValue::of_str("a # b"));  // '#' inside a string is not a comment
  EXPECT_FALSE(is_literal("'unterminated"));
  EXPECT_FALSE(is_literal("'a\nb'"));
  EXPECT_FALSE(is_literal("'\\x4'"));
  EXPECT_FALSE(is_literal("'\\N{BULLET}'"));
  EXPECT_FALSE(is_literal("'\\ud800'"));
  EXPECT_FALSE(is_literal("b'x'"));
  EXPECT_FALSE(is_literal("f'{x}'"));
}

TEST(PyLiteral, ListsAndTuples) {
  EXPECT_EQ(parse("[1,2,3,5]"), ints({1, 2, 3, 5}));
  EXPECT_EQ(parse("[ 1 , 2 , ]"), ints({1, 2}));
  EXPECT_EQ(parse("[]"), PyValue::list({}));
  EXPECT_EQ(parse("['rgb', 'audio', 'text']"),
            PyValue::list({PyValue::of_str("rgb"), PyValue::of_str("audio"), PyValue::of_str("text")}));
  EXPECT_EQ(parse("[[2048], [128], [5, 50, 1]]"), PyValue::list({ints({2048}), ints({128}), ints({5, 50, 1})}));
  EXPECT_EQ(parse("(1, 2)"), PyValue::tuple({PyValue::of_int(1), PyValue::of_int(2)}));
  EXPECT_EQ(parse("(1,)"), PyValue::tuple({PyValue::of_int(1)}));
  EXPECT_EQ(parse("()"), PyValue::tuple({}));
  EXPECT_EQ(parse("(1)"), PyValue::of_int(1));
  EXPECT_EQ(parse("1, 2"), PyValue::tuple({PyValue::of_int(1), PyValue::of_int(2)}));
  EXPECT_EQ(parse("1,"), PyValue::tuple({PyValue::of_int(1)}));
  EXPECT_EQ(parse("[None, True, 0.5, 'x', (1,)]"),
            PyValue::list({PyValue::none(), PyValue::of_bool(true), PyValue::of_float(0.5), PyValue::of_str("x"),
                           PyValue::tuple({PyValue::of_int(1)})}));
  EXPECT_FALSE(is_literal("[1 2]"));
  EXPECT_FALSE(is_literal("[1,,2]"));
  EXPECT_FALSE(is_literal("[1"));
  EXPECT_FALSE(is_literal("(,)"));
  EXPECT_FALSE(is_literal(","));
  EXPECT_FALSE(is_literal("{'a': 1}"));
  EXPECT_FALSE(is_literal(std::string(200, '[') + std::string(200, ']')));  // too deep
}

TEST(PyLiteral, WhitespaceCommentsAndLineBreaks) {
  EXPECT_EQ(parse("  42  "), PyValue::of_int(42));
  EXPECT_EQ(parse("\t42\t"), PyValue::of_int(42));
  EXPECT_EQ(parse("30 # epochs"), PyValue::of_int(30));  // eval() ignored a trailing comment
  EXPECT_EQ(parse("[1,\n 2 # two\n]"), ints({1, 2}));    // configparser continuation lines
  EXPECT_EQ(parse("42\n"), PyValue::of_int(42));
  EXPECT_FALSE(is_literal("1\n2"));
  EXPECT_FALSE(is_literal("1,\n2"));
  EXPECT_FALSE(is_literal(""));
  EXPECT_FALSE(is_literal("   "));
  EXPECT_FALSE(is_literal("# only a comment"));
  EXPECT_FALSE(is_literal("1 2"));
}

TEST(PyLiteral, NotLiteralsSayWhy) {
  std::string why;
  EXPECT_FALSE(parse_py_literal("70000*2", &why));
  EXPECT_NE(why.find("'*'"), std::string::npos) << why;
  EXPECT_FALSE(parse_py_literal("sigmoid", &why));
  EXPECT_EQ(why, "name 'sigmoid' is not a literal");
  EXPECT_FALSE(parse_py_literal("float('inf')", &why));
  EXPECT_FALSE(parse_py_literal("./datasets/feature_files/", &why));
}

TEST(PyLiteral, FallsBackToTheRawText) {
  EXPECT_EQ(literal_or_string("./datasets/train.txt"), PyValue::of_str("./datasets/train.txt"));
  EXPECT_EQ(literal_or_string("sigmoid"), PyValue::of_str("sigmoid"));
  EXPECT_EQ(literal_or_string(""), PyValue::of_str(""));
  EXPECT_EQ(literal_or_string("a # b"), PyValue::of_str("a # b"));
  EXPECT_EQ(literal_or_string("128"), PyValue::of_int(128));
}

TEST(PyLiteral, ReprMatchesPython) {
  EXPECT_EQ(PyValue::of_float(0.0007).repr(), "0.0007");
  EXPECT_EQ(PyValue::of_float(8e-4).repr(), "0.0008");
  EXPECT_EQ(PyValue::of_float(7e-5).repr(), "7e-05");
  EXPECT_EQ(PyValue::of_float(1e16).repr(), "1e+16");
  EXPECT_EQ(PyValue::of_float(1.5e16).repr(), "1.5e+16");
  EXPECT_EQ(PyValue::of_float(1e15).repr(), "1000000000000000.0");
  EXPECT_EQ(PyValue::of_float(70000.0).repr(), "70000.0");
  EXPECT_EQ(PyValue::of_float(0.0).repr(), "0.0");
  EXPECT_EQ(PyValue::of_float(-0.0).repr(), "-0.0");
  EXPECT_EQ(PyValue::of_float(0.1 + 0.2).repr(), "0.30000000000000004");
  EXPECT_EQ(PyValue::of_float(1e-300).repr(), "1e-300");
  EXPECT_EQ(PyValue::of_float(5e-324).repr(), "5e-324");
  EXPECT_EQ(PyValue::of_float(123456789.123).repr(), "123456789.123");
  EXPECT_EQ(PyValue::of_int(-12).repr(), "-12");
  EXPECT_EQ(PyValue::none().repr(), "None");
  EXPECT_EQ(PyValue::of_bool(false).repr(), "False");
  EXPECT_EQ(PyValue::of_str("it's").repr(), "\"it's\"");
  EXPECT_EQ(PyValue::of_str("a\"b").repr(), "'a\"b'");
  EXPECT_EQ(PyValue::of_str("both'\"").repr(), "'both\\'\"'");
  EXPECT_EQ(PyValue::of_str("tab\there\n").repr(), "'tab\\there\\n'");
  EXPECT_EQ(PyValue::of_str("\x01\x7f").repr(), "'\\x01\\x7f'");
  EXPECT_EQ(PyValue::of_str("\xE4\xB8\xAD").repr(), "'\xE4\xB8\xAD'");
  EXPECT_EQ(parse("[[2048], [128], [5, 50, 1]]").repr(), "[[2048], [128], [5, 50, 1]]");
  EXPECT_EQ(parse("(1,)").repr(), "(1,)");
  EXPECT_EQ(parse("()").repr(), "()");
  EXPECT_EQ(parse("[1,2,3,5]").repr(), "[1, 2, 3, 5]");
}

TEST(PyLiteral, ReprParsesBack) {
  const std::vector<PyValue> values = {
      PyValue::of_float(0.1 + 0.2), PyValue::of_float(1e-7),  PyValue::of_float(-3.25e40),
      PyValue::of_int(INT64_MIN + 1), PyValue::of_str("q'\"\\\t\x02 \xE4\xB8\xAD"),
      parse("[None, (True,), [[1.5], []], ()]"),
  };
  for (const auto& v : values) EXPECT_EQ(parse(v.repr()), v) << v.repr();
}

TEST(PyLiteral, TypeNames) {
  EXPECT_STREQ(PyValue::none().type_name(), "NoneType");
  EXPECT_STREQ(PyValue::of_float(1).type_name(), "float");
  EXPECT_STREQ(PyValue::tuple({}).type_name(), "tuple");
  EXPECT_STREQ(PyValue::of_str("").type_name(), "str");
}
