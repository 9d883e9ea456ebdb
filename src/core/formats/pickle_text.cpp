// Text in pickles: Python 2 str literals (STRING, as codecs.escape_decode reads them), protocol
// 0's unicode (UNICODE, raw-unicode-escape), the globals Python 3 uses to pickle bytes at
// protocols 0..2 (_codecs.encode, bytes), and input made safe to show in messages.
#include <charconv>
#include <cstdint>
#include <string>
#include <vector>

#include "mvtag/core/text/utf8.h"
#include "pickle_internal.h"

namespace mvtag::pickle_internal {

std::string hex_byte(unsigned char c) {
  static const char* hex = "0123456789abcdef";
  return {hex[c >> 4], hex[c & 15]};
}

std::string printable(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < 200; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else {
      out += "\\x" + hex_byte(c);
    }
  }
  if (s.size() > 200) out += "...";
  return out;
}

bool escape_decode(std::string_view s, std::string* out) {
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      *out += s[i];
      continue;
    }
    if (++i == s.size()) return false;  // a trailing backslash
    const char c = s[i];
    switch (c) {
      case '\n': break;
      case '\\': *out += '\\'; break;
      case '\'': *out += '\''; break;
      case '"': *out += '"'; break;
      case 'a': *out += '\a'; break;
      case 'b': *out += '\b'; break;
      case 'f': *out += '\f'; break;
      case 'n': *out += '\n'; break;
      case 'r': *out += '\r'; break;
      case 't': *out += '\t'; break;
      case 'v': *out += '\v'; break;
      case 'x': {
        if (i + 2 >= s.size()) return false;
        const int h = hex(s[i + 1]), l = hex(s[i + 2]);
        if (h < 0 || l < 0) return false;
        *out += static_cast<char>(h * 16 + l);
        i += 2;
        break;
      }
      default:
        if (c >= '0' && c <= '7') {
          int v = c - '0';
          for (int k = 0; k < 2 && i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7'; ++k) {
            v = v * 8 + (s[++i] - '0');
          }
          *out += static_cast<char>(v & 0xFF);
        } else {
          *out += '\\';
          *out += c;
        }
    }
  }
  return true;
}

bool raw_unicode_escape_decode(std::string_view s, std::string* out) {
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] != '\\') {
      append_utf8(*out, static_cast<unsigned char>(s[i++]));
      continue;
    }
    std::size_t run = 0;
    while (i < s.size() && s[i] == '\\') {
      ++run;
      ++i;
    }
    const bool escape = (run % 2 == 1) && i < s.size() && (s[i] == 'u' || s[i] == 'U');
    out->append(escape ? run - 1 : run, '\\');
    if (!escape) continue;
    const std::size_t digits = s[i] == 'u' ? 4 : 8;
    ++i;
    if (i + digits > s.size()) return false;
    std::uint32_t cp = 0;
    const auto r = std::from_chars(s.data() + i, s.data() + i + digits, cp, 16);
    if (r.ec != std::errc() || r.ptr != s.data() + i + digits || cp > 0x10FFFF) return false;
    append_utf8(*out, cp);
    i += digits;
  }
  return true;
}

namespace {

// _codecs.encode(text, 'latin1'): how Python 3 pickles bytes at protocols 0..2.
Ref reduce_encode(Machine& m, const PickleGlobal&, const std::vector<Ref>& args) {
  if (args.size() != 2 || !m.is_text(args[0]) || !m.is_text(args[1])) m.fail("_codecs.encode expects (str, encoding)");
  const std::string encoding = m.text_of(args[1]);
  if (encoding != "latin1" && encoding != "latin-1" && encoding != "iso-8859-1" && encoding != "iso8859-1") {
    m.fail("_codecs.encode with encoding '" + printable(encoding) + "' is not supported (expected latin1)");
  }
  std::string scratch;
  return m.add_text(Kind::Bytes, std::string(m.raw_bytes_of(args[0], "_codecs.encode argument", &scratch)));
}

// bytes() or bytes(b'...'): how Python 3 pickles empty bytes at protocols 0..2.
Ref reduce_bytes(Machine& m, const PickleGlobal& self, const std::vector<Ref>& args) {
  if (args.empty()) return m.add_text(Kind::Bytes, "");
  if (args.size() == 1 && m.node(args[0]).kind == Kind::Bytes) return m.add_text(Kind::Bytes, m.node(args[0]).text);
  m.fail(self.qualified_name() + " is only supported with no argument or a bytes argument");
}

}  // namespace

const std::vector<PickleGlobal>& bytes_pickle_globals() {
  static const std::vector<PickleGlobal> globals = {
      {"_codecs", "encode", reduce_encode},
      {"__builtin__", "bytes", reduce_bytes},
      {"builtins", "bytes", reduce_bytes},
  };
  return globals;
}

}  // namespace mvtag::pickle_internal
