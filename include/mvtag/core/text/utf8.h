// UTF-8 text: encoding and decoding one character, validation, and the Python str helpers that
// the readers and the tokenizer share. Decoding says whether a sequence is valid and how many
// bytes it spans; what an invalid one means (an error, or U+FFFD) is each caller's choice.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mvtag {

constexpr char32_t kReplacementCharacter = 0xFFFD;

// Appends `cp` (at most U+10FFFF) as UTF-8. Surrogates are encoded like any other code point,
// as Python's 'surrogatepass' does.
void append_utf8(std::string& out, char32_t cp);

// Whether U+D800..U+DFFF decode (Python's 'surrogatepass') or are invalid (strict UTF-8).
enum class Surrogates { Reject, Allow };

struct Utf8Char {
  char32_t cp = kReplacementCharacter;  // U+FFFD when not valid
  std::size_t length = 1;               // bytes the character, or the invalid part, spans
  bool valid = false;
};

// Decodes the character that starts at s[i] (i < s.size()). Invalid: a byte that cannot start a
// character, a truncated sequence, an overlong form, a value above U+10FFFF, a surrogate unless
// allowed. An invalid part spans its maximal invalid subpart (at least one byte): the unit that
// Python's errors='replace' turns into one U+FFFD.
Utf8Char decode_utf8(std::string_view s, std::size_t i, Surrogates surrogates = Surrogates::Reject);

// The byte offset where the first invalid sequence of `s` starts, or std::string_view::npos if
// `s` is valid UTF-8. Noncharacters (U+FFFE, U+FDD0, ...) are valid.
std::size_t find_invalid_utf8(std::string_view s, Surrogates surrogates = Surrogates::Reject);
bool is_valid_utf8(std::string_view s, Surrogates surrogates = Surrogates::Reject);

// ---- Python-compatible text helpers ---------------------------------------------------------

// Valid UTF-8 for any bytes, like Python's bytes.decode('utf-8', 'replace'): every maximal
// invalid subpart (truncated sequence, overlong form, surrogate, byte 0xC0/0xC1/0xF5..0xFF, lone
// continuation byte) becomes U+FFFD. `replaced`, if given, receives the number of U+FFFDs added.
std::string sanitize_utf8(std::string_view bytes, std::size_t* replaced = nullptr);
// Python str.isspace() for one code point.
bool is_python_space(char32_t c);
// Python str.strip() without arguments on UTF-8 text (invalid bytes are never stripped).
std::string_view python_strip(std::string_view text);

}  // namespace mvtag
