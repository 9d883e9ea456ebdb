// UTF-8 encoding, decoding and validation, each invalid form with the length Python's
// decode(errors='replace') gives it, and the Python str helpers built on them.
#include "mvtag/core/text/utf8.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace mvtag;

namespace {

std::string encoded(char32_t cp) {
  std::string out;
  append_utf8(out, cp);
  return out;
}

}  // namespace

TEST(Utf8, AppendUsesTheShortestFormOfEachLength) {
  EXPECT_EQ(encoded(U'A'), "A");
  EXPECT_EQ(encoded(0x7F), "\x7F");
  EXPECT_EQ(encoded(0x80), "\xC2\x80");
  EXPECT_EQ(encoded(0xE9), "\xC3\xA9");
  EXPECT_EQ(encoded(0x7FF), "\xDF\xBF");
  EXPECT_EQ(encoded(0x800), "\xE0\xA0\x80");
  EXPECT_EQ(encoded(0x4E2D), "\xE4\xB8\xAD");  // 中
  EXPECT_EQ(encoded(0xFFFF), "\xEF\xBF\xBF");
  EXPECT_EQ(encoded(0x10000), "\xF0\x90\x80\x80");
  EXPECT_EQ(encoded(0x1F600), "\xF0\x9F\x98\x80");
  EXPECT_EQ(encoded(0x10FFFF), "\xF4\x8F\xBF\xBF");
  EXPECT_EQ(encoded(0xD800), "\xED\xA0\x80");  // as Python's 'surrogatepass' writes it
  std::string nul;
  append_utf8(nul, 0);
  EXPECT_EQ(nul, std::string(1, '\0'));
}

TEST(Utf8, DecodeGivesBackWhatAppendWrote) {
  for (char32_t cp : {0x00, 0x41, 0x7F, 0x80, 0xFF, 0x7FF, 0x800, 0x4E2D, 0xD7FF, 0xE000, 0xFFFD, 0xFFFF, 0x10000,
                      0x1F600, 0x10FFFF}) {
    const std::string s = "x" + encoded(cp) + "y";
    const Utf8Char c = decode_utf8(s, 1);
    EXPECT_TRUE(c.valid) << std::hex << static_cast<unsigned>(cp);
    EXPECT_EQ(c.cp, cp);
    EXPECT_EQ(c.length, s.size() - 2);
  }
}

TEST(Utf8, InvalidSequencesSpanTheirMaximalInvalidSubpart) {
  // Lengths as CPython 3.11's bytes.decode('utf-8', 'replace') splits them into U+FFFDs.
  const struct {
    std::string bytes;
    std::size_t length;
  } cases[] = {
      {"\xE4\xB8", 2},          // truncated 3-byte sequence
      {"\xE4\xB8" "a", 2},      // truncated, then ASCII: the 'a' starts the next character
      {"\xC0\xAF", 1},          // overlong '/': 0xC0 can never start a character
      {"\xC1\xBF", 1},
      {"\xE0\x80\x80", 1},     // overlong 3-byte NUL
      {"\xE0\x9F\xBF", 1},     // overlong U+07FF
      {"\xED\xA0\x80", 1},     // surrogate U+D800
      {"\xED\xBF\xBF", 1},     // surrogate U+DFFF
      {"\xF0\x8F\xBF\xBF", 1},  // overlong U+FFFF
      {"\xF0\x9F\x98", 3},     // truncated emoji
      {"\xF0\x9F\x98" "a", 3},
      {"\xF4\x90\x80\x80", 1},  // above U+10FFFF
      {"\xF5\x80\x80\x80", 1},
      {"\xF8\x88\x80\x80\x80", 1},
      {"\xFF", 1},
      {"\xC0", 1},
      {"\x80", 1},               // lone continuation byte
      {"\xBF\x80", 1},
  };
  for (const auto& c : cases) {
    const Utf8Char d = decode_utf8(c.bytes, 0);
    EXPECT_FALSE(d.valid) << c.bytes;
    EXPECT_EQ(d.cp, kReplacementCharacter) << c.bytes;
    EXPECT_EQ(d.length, c.length) << c.bytes;
    EXPECT_FALSE(is_valid_utf8(c.bytes)) << c.bytes;
  }
}

TEST(Utf8, SurrogatesDecodeOnlyWhenAllowed) {
  for (const std::string s : {"\xED\xA0\x80", "\xED\xBF\xBF"}) {
    EXPECT_FALSE(decode_utf8(s, 0).valid);
    EXPECT_FALSE(is_valid_utf8(s));
    const Utf8Char c = decode_utf8(s, 0, Surrogates::Allow);
    EXPECT_TRUE(c.valid);
    EXPECT_EQ(c.length, 3u);
    EXPECT_TRUE(is_valid_utf8(s, Surrogates::Allow));
  }
  EXPECT_EQ(decode_utf8("\xED\xA0\x80", 0, Surrogates::Allow).cp, 0xD800u);
  EXPECT_EQ(decode_utf8("\xED\x9F\xBF", 0).cp, 0xD7FFu);  // the last code point before them
  // Everything else stays invalid with surrogates allowed.
  for (const std::string s : {"\xE0\x80\x80", "\xF4\x90\x80\x80", "\xE4\xB8", "\xFF", "\x80"}) {
    EXPECT_FALSE(decode_utf8(s, 0, Surrogates::Allow).valid) << s;
    EXPECT_FALSE(is_valid_utf8(s, Surrogates::Allow)) << s;
  }
}

TEST(Utf8, ValidationLooksAtEveryCharacter) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("h\xC3\xA9llo \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("h\xC3\xA9llo \xE4\xB8"));  // truncated at the very end
  EXPECT_FALSE(is_valid_utf8("\xC3\xA9\xA9"));             // a continuation byte too many
  EXPECT_TRUE(is_valid_utf8("\xEF\xBF\xBE\xEF\xB7\x90\xF4\x8F\xBF\xBF"));  // noncharacters are valid
}

TEST(Utf8, FindInvalidGivesWhereTheFirstInvalidSequenceStarts) {
  EXPECT_EQ(find_invalid_utf8(""), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8("h\xC3\xA9llo"), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8("h\xC3\xA9llo \xE4\xB8"), 7u);  // the truncated sequence, not its last byte
  EXPECT_EQ(find_invalid_utf8("\xC3\xA9\xA9x\xFF"), 2u);
  EXPECT_EQ(find_invalid_utf8("ab\xED\xA0\x80"), 2u);
  EXPECT_EQ(find_invalid_utf8("ab\xED\xA0\x80", Surrogates::Allow), std::string_view::npos);
}

TEST(Utf8, SanitizeReplacesLikePython) {
  // Expected values from bytes.decode('utf-8', 'replace') in CPython 3.11.
  const std::string fffd = "\xEF\xBF\xBD";
  const struct {
    std::string in, out;
    std::size_t replaced;
  } cases[] = {
      {"\xE4\xB8", fffd, 1},                               // truncated 3-byte sequence
      {"\xE4\xB8" "a", fffd + "a", 1},                     // truncated, then ASCII
      {"a\xC0\xAF" "b", "a" + fffd + fffd + "b", 2},       // overlong '/'
      {"\xE0\x80\x80", fffd + fffd + fffd, 3},             // overlong 3-byte NUL
      {"\xED\xA0\x80", fffd + fffd + fffd, 3},             // surrogate U+D800
      {"\xF0\x9F\x98", fffd, 1},                           // truncated emoji
      {"\xF4\x90\x80\x80", fffd + fffd + fffd + fffd, 4},  // above U+10FFFF
      {"\xFF", fffd, 1},
      {"\xC0", fffd, 1},
      {"\x80", fffd, 1},  // lone continuation byte
      {"ok \xF0\x9F\x98\x80 \xE5\xA5\xBD", "ok \xF0\x9F\x98\x80 \xE5\xA5\xBD", 0},
  };
  for (const auto& c : cases) {
    std::size_t replaced = 99;
    EXPECT_EQ(sanitize_utf8(c.in, &replaced), c.out);
    EXPECT_EQ(replaced, c.replaced);
  }
}

TEST(Utf8, PythonWhitespaceAndStrip) {
  for (char32_t c : {0x09, 0x0D, 0x1C, 0x1F, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x200A, 0x2028, 0x2029, 0x202F,
                     0x205F, 0x3000}) {
    EXPECT_TRUE(is_python_space(c)) << std::hex << static_cast<unsigned>(c);
  }
  for (char32_t c : {0x00, 0x08, 0x0E, 0x21, 0x84, 0x180E, 0x200B, 0x200D, 0xFEFF, 0x3001}) {
    EXPECT_FALSE(is_python_space(c)) << std::hex << static_cast<unsigned>(c);
  }
  EXPECT_EQ(python_strip(" \t\xE3\x80\x80 a b\xC2\xA0\n"), "a b");
  EXPECT_EQ(python_strip("\xE2\x80\x8B" "x"), "\xE2\x80\x8B" "x");  // zero-width space is not a space
  EXPECT_EQ(python_strip(" \xFF "), "\xFF");
  EXPECT_EQ(python_strip("   "), "");
}
