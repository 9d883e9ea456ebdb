#include "mvtag/core/text/utf8.h"

namespace mvtag {

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

Utf8Char decode_utf8(std::string_view s, std::size_t i, Surrogates surrogates) {
  const auto lead = static_cast<unsigned char>(s[i]);
  if (lead < 0x80) return {lead, 1, true};
  int trail = 0;
  char32_t cp = 0;
  // The lead byte narrows the first continuation byte's range: that is where overlong forms,
  // surrogates and values above U+10FFFF are told apart, one byte early as Python does.
  unsigned char lo = 0x80, hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    trail = 1, cp = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    trail = 2, cp = lead & 0x0F;
    if (lead == 0xE0) lo = 0xA0;
    if (lead == 0xED && surrogates == Surrogates::Reject) hi = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    trail = 3, cp = lead & 0x07;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;
  } else {
    return {};
  }
  std::size_t n = 1;
  for (int got = 0; got < trail; ++got, ++n) {
    const auto c = i + n < s.size() ? static_cast<unsigned char>(s[i + n]) : 0;
    if (c < lo || c > hi) return {kReplacementCharacter, n, false};  // c starts the next character
    cp = (cp << 6) | (c & 0x3F);
    lo = 0x80, hi = 0xBF;
  }
  return {cp, n, true};
}

std::size_t find_invalid_utf8(std::string_view s, Surrogates surrogates) {
  for (std::size_t i = 0; i < s.size();) {
    const Utf8Char c = decode_utf8(s, i, surrogates);
    if (!c.valid) return i;
    i += c.length;
  }
  return std::string_view::npos;
}

bool is_valid_utf8(std::string_view s, Surrogates surrogates) {
  return find_invalid_utf8(s, surrogates) == std::string_view::npos;
}

std::string sanitize_utf8(std::string_view bytes, std::size_t* replaced) {
  std::string out;
  out.reserve(bytes.size());
  std::size_t invalid = 0;
  for (std::size_t i = 0; i < bytes.size();) {
    const Utf8Char c = decode_utf8(bytes, i);
    append_utf8(out, c.cp);
    invalid += !c.valid;
    i += c.length;
  }
  if (replaced != nullptr) *replaced = invalid;
  return out;
}

bool is_python_space(char32_t c) {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
  if (c < 0x85) return false;
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
         c == 0x202F || c == 0x205F || c == 0x3000;
}

std::string_view python_strip(std::string_view text) {
  std::size_t first = std::string_view::npos, last_end = 0;
  for (std::size_t i = 0; i < text.size();) {
    const Utf8Char c = decode_utf8(text, i);
    if (!is_python_space(c.cp)) {
      if (first == std::string_view::npos) first = i;
      last_end = i + c.length;
    }
    i += c.length;
  }
  return first == std::string_view::npos ? std::string_view() : text.substr(first, last_end - first);
}

}  // namespace mvtag
