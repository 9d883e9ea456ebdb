#include "mvtag/core/config/py_literal.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "mvtag/core/base/limits.h"
#include "mvtag/core/text/utf8.h"

namespace mvtag {

PyValue PyValue::of_bool(bool b) {
  PyValue v;
  v.kind = Kind::Bool;
  v.boolean = b;
  return v;
}

PyValue PyValue::of_int(std::int64_t i) {
  PyValue v;
  v.kind = Kind::Int;
  v.integer = i;
  return v;
}

PyValue PyValue::of_float(double d) {
  PyValue v;
  v.kind = Kind::Float;
  v.real = d;
  return v;
}

PyValue PyValue::of_str(std::string s) {
  PyValue v;
  v.kind = Kind::Str;
  v.str = std::move(s);
  return v;
}

PyValue PyValue::list(std::vector<PyValue> items) {
  PyValue v;
  v.kind = Kind::List;
  v.items = std::move(items);
  return v;
}

PyValue PyValue::tuple(std::vector<PyValue> items) {
  PyValue v;
  v.kind = Kind::Tuple;
  v.items = std::move(items);
  return v;
}

const char* PyValue::type_name() const {
  switch (kind) {
    case Kind::None: return "NoneType";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::Str: return "str";
    case Kind::List: return "list";
    case Kind::Tuple: return "tuple";
  }
  return "?";
}

bool PyValue::operator==(const PyValue& other) const {
  if (kind != other.kind) return false;
  switch (kind) {
    case Kind::None: return true;
    case Kind::Bool: return boolean == other.boolean;
    case Kind::Int: return integer == other.integer;
    case Kind::Float: return real == other.real;
    case Kind::Str: return str == other.str;
    case Kind::List:
    case Kind::Tuple: return items == other.items;
  }
  return false;
}

namespace {

// Python's float repr: the shortest digits that round-trip, in positional notation when the
// decimal exponent is in [-4, 16), else as d.ddde±XX; integral values keep a ".0".
std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  const std::string sci(buf, res.ptr);  // "-1.2345e-04"
  const std::size_t e = sci.find('e');
  std::string sign, digits;
  for (std::size_t i = 0; i < e; ++i) {
    if (sci[i] == '-') sign = "-";
    else if (sci[i] != '.') digits += sci[i];
  }
  const int exp10 = std::atoi(sci.c_str() + e + 1);
  const int point = exp10 + 1;  // digits are 0.d1d2... x 10^point
  const int n = static_cast<int>(digits.size());
  if (point > -4 && point <= 16) {
    if (point <= 0) return sign + "0." + std::string(-point, '0') + digits;
    if (point >= n) return sign + digits + std::string(point - n, '0') + ".0";
    return sign + digits.substr(0, point) + "." + digits.substr(point);
  }
  std::string mantissa = digits.substr(0, 1);
  if (n > 1) mantissa += "." + digits.substr(1);
  const int mag = std::abs(exp10);
  return sign + mantissa + (exp10 < 0 ? "e-" : "e+") + (mag < 10 ? "0" : "") + std::to_string(mag);
}

std::string str_repr(const std::string& s) {
  const bool has_single = s.find('\'') != std::string::npos;
  const bool has_double = s.find('"') != std::string::npos;
  const char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, quote);
  for (const char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch == quote || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (ch == '\n') {
      out += "\\n";
    } else if (ch == '\r') {
      out += "\\r";
    } else if (ch == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += ch;  // UTF-8 bytes stay as they are, as Python 3 prints printable text
    }
  }
  out += quote;
  return out;
}

}  // namespace

std::string PyValue::repr() const {
  switch (kind) {
    case Kind::None: return "None";
    case Kind::Bool: return boolean ? "True" : "False";
    case Kind::Int: return std::to_string(integer);
    case Kind::Float: return float_repr(real);
    case Kind::Str: return str_repr(str);
    case Kind::List:
    case Kind::Tuple: {
      std::string out = kind == Kind::List ? "[" : "(";
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += ", ";
        out += items[i].repr();
      }
      if (kind == Kind::Tuple && items.size() == 1) out += ",";
      out += kind == Kind::List ? "]" : ")";
      return out;
    }
  }
  return "";
}

namespace {

struct NotALiteral {
  std::string why;
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

// A recursive-descent parser over Python's literal grammar. Errors throw NotALiteral.
class LiteralParser {
 public:
  explicit LiteralParser(std::string_view text) : s_(text) {}

  PyValue parse() {
    skip_space();
    if (rest_is_blank()) fail("empty value");
    PyValue first = parse_unary();
    skip_space();
    if (peek() == ',') {
      std::vector<PyValue> items{std::move(first)};
      while (peek() == ',') {
        ++pos_;
        skip_space();
        if (rest_is_blank()) break;
        items.push_back(parse_unary());
        skip_space();
      }
      first = PyValue::tuple(std::move(items));
    }
    if (!rest_is_blank()) fail_here("unexpected");
    return first;
  }

 private:
  char peek(std::size_t ahead = 0) const { return pos_ + ahead < s_.size() ? s_[pos_ + ahead] : '\0'; }
  bool at_end() const { return pos_ >= s_.size(); }

  [[noreturn]] void fail(const std::string& why) const { throw NotALiteral{why}; }
  [[noreturn]] void fail_here(const std::string& what) const {
    if (at_end()) fail(what + " end of text");
    fail(what + " '" + std::string(1, s_[pos_]) + "' at offset " + std::to_string(pos_));
  }

  // Spaces, tabs and comments; inside brackets also line breaks (Python's implicit joining).
  void skip_space() {
    while (!at_end()) {
      const char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\f' || (brackets_ > 0 && (c == '\n' || c == '\r'))) {
        ++pos_;
      } else if (c == '#') {
        while (!at_end() && s_[pos_] != '\n') ++pos_;
      } else {
        return;
      }
    }
  }

  // True when only whitespace, line breaks and comments remain.
  bool rest_is_blank() const {
    bool in_comment = false;
    for (std::size_t i = pos_; i < s_.size(); ++i) {
      const char c = s_[i];
      if (c == '\n') in_comment = false;
      else if (c == '#') in_comment = true;
      else if (!in_comment && !std::strchr(" \t\f\r", c)) return false;
    }
    return true;
  }

  struct Nest {
    explicit Nest(LiteralParser& p) : p_(p) {
      // Python's parser also gives up on deep nesting.
      if (++p_.nesting_ > limits::kMaxLiteralDepth) {
        p_.fail("nested deeper than " + std::to_string(limits::kMaxLiteralDepth) + " levels (kMaxLiteralDepth)");
      }
    }
    ~Nest() { --p_.nesting_; }
    LiteralParser& p_;
  };

  PyValue parse_unary() {
    Nest nest(*this);
    skip_space();
    const char op = peek();
    if (op != '-' && op != '+') return parse_atom();
    ++pos_;
    PyValue v = parse_unary();
    if (v.kind == PyValue::Kind::Bool) v = PyValue::of_int(v.boolean ? 1 : 0);
    if (op == '+') {
      if (v.kind != PyValue::Kind::Int && v.kind != PyValue::Kind::Float) fail("unary + on a " + std::string(v.type_name()));
      return v;
    }
    if (v.kind == PyValue::Kind::Float) return PyValue::of_float(-v.real);
    if (v.kind != PyValue::Kind::Int) fail("unary - on a " + std::string(v.type_name()));
    if (v.integer == INT64_MIN) fail("integer does not fit in 64 bits");
    return PyValue::of_int(-v.integer);
  }

  PyValue parse_atom() {
    const char c = peek();
    if (c == '[') return parse_list();
    if (c == '(') return parse_parenthesized();
    if (is_digit(c) || (c == '.' && is_digit(peek(1)))) return parse_number();
    if (c == '\'' || c == '"' || is_ident_char(c)) {
      if (starts_string()) return parse_strings();
      return parse_name();
    }
    fail_here("unexpected");
  }

  PyValue parse_name() {
    const std::size_t start = pos_;
    while (!at_end() && is_ident_char(s_[pos_])) ++pos_;
    const std::string_view word = s_.substr(start, pos_ - start);
    if (word == "None") return PyValue::none();
    if (word == "True") return PyValue::of_bool(true);
    if (word == "False") return PyValue::of_bool(false);
    if (peek() == '\'' || peek() == '"') fail("string prefix '" + std::string(word) + "' is not supported (only r and u)");
    fail("name '" + std::string(word) + "' is not a literal");
  }

  // At a quote, or at an r/u prefix directly followed by a quote.
  bool starts_string() const {
    const char c = peek();
    if (c == '\'' || c == '"') return true;
    const char next = peek(1);
    return c != '\0' && std::strchr("rRuU", c) && (next == '\'' || next == '"');
  }

  PyValue parse_strings() {
    std::string out;
    do {
      parse_one_string(out);
      skip_space();
    } while (starts_string());
    return PyValue::of_str(std::move(out));
  }

  void parse_one_string(std::string& out) {
    bool raw = false;
    if (peek() != '\'' && peek() != '"') {
      raw = peek() == 'r' || peek() == 'R';
      ++pos_;
    }
    const char q = s_[pos_];
    const bool triple = peek(1) == q && peek(2) == q;
    pos_ += triple ? 3 : 1;
    while (true) {
      if (at_end()) fail("unterminated string");
      const char c = s_[pos_];
      if (c == q && (!triple || (peek(1) == q && peek(2) == q))) {
        pos_ += triple ? 3 : 1;
        return;
      }
      if ((c == '\n' || c == '\r') && !triple) fail("string not closed before the end of the line");
      if (c == '\\') {
        ++pos_;
        if (at_end()) fail("unterminated string");
        if (raw) {
          out += '\\';
          out += s_[pos_++];
        } else {
          parse_escape(out);
        }
        continue;
      }
      out += c;
      ++pos_;
    }
  }

  std::uint32_t read_hex(int count) {
    std::uint32_t value = 0;
    for (int i = 0; i < count; ++i) {
      const char c = peek();
      int d;
      if (is_digit(c)) d = c - '0';
      else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
      else fail("truncated \\x, \\u or \\U escape");
      value = value * 16 + static_cast<std::uint32_t>(d);
      ++pos_;
    }
    return value;
  }

  // After the backslash.
  void parse_escape(std::string& out) {
    const char e = s_[pos_++];
    switch (e) {
      case '\n': return;  // backslash-newline continues the string
      case '\\': case '\'': case '"': out += e; return;
      case 'a': out += '\a'; return;
      case 'b': out += '\b'; return;
      case 'f': out += '\f'; return;
      case 'n': out += '\n'; return;
      case 'r': out += '\r'; return;
      case 't': out += '\t'; return;
      case 'v': out += '\v'; return;
      case 'x': append_utf8(out, read_hex(2)); return;
      case 'u':
      case 'U': {
        const std::uint32_t cp = read_hex(e == 'u' ? 4 : 8);
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) fail("escape is not a Unicode scalar value");
        append_utf8(out, cp);
        return;
      }
      case 'N': fail("\\N{...} escapes are not supported");
      default: break;
    }
    if (e >= '0' && e <= '7') {
      std::uint32_t cp = static_cast<std::uint32_t>(e - '0');
      for (int i = 0; i < 2 && peek() >= '0' && peek() <= '7'; ++i) cp = cp * 8 + static_cast<std::uint32_t>(s_[pos_++] - '0');
      append_utf8(out, cp);
      return;
    }
    out += '\\';  // unknown escapes keep their backslash, as in Python
    out += e;
  }

  PyValue parse_number() {
    const std::size_t start = pos_;
    const char base_char = peek(1);
    if (peek() == '0' && base_char != '\0' && std::strchr("xXoObB", base_char)) return parse_based_int();
    bool is_float = false;
    while (is_digit(peek())) ++pos_;
    if (peek() == '.') {
      is_float = true;
      ++pos_;
      while (is_digit(peek())) ++pos_;
    }
    if (peek() == 'e' || peek() == 'E') {
      is_float = true;
      ++pos_;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (!is_digit(peek())) fail("malformed exponent");
      while (is_digit(peek())) ++pos_;
    }
    if (peek() == '_') fail("digit separators ('_') are not supported");
    if (peek() == 'j' || peek() == 'J') fail("complex numbers are not supported");
    if (is_ident_char(peek())) fail_here("invalid character in a number:");
    const std::string_view text = s_.substr(start, pos_ - start);
    if (is_float) return PyValue::of_float(to_double(text));
    if (text.size() > 1 && text[0] == '0' && text.find_first_not_of('0') != std::string_view::npos) {
      fail("leading zeros in a decimal integer are not allowed");
    }
    return PyValue::of_int(to_int(text, 10));
  }

  PyValue parse_based_int() {
    const char kind = static_cast<char>(std::tolower(static_cast<unsigned char>(s_[pos_ + 1])));
    const int base = kind == 'x' ? 16 : kind == 'o' ? 8 : 2;
    pos_ += 2;
    const std::size_t start = pos_;
    while (!at_end() && is_ident_char(s_[pos_])) ++pos_;
    const std::string_view digits = s_.substr(start, pos_ - start);
    if (digits.empty() || digits.find('_') != std::string_view::npos) fail("malformed base-" + std::to_string(base) + " integer");
    return PyValue::of_int(to_int(digits, base));
  }

  std::int64_t to_int(std::string_view digits, int base) const {
    std::int64_t value = 0;
    const auto res = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
    if (res.ec == std::errc::result_out_of_range) fail("integer does not fit in 64 bits");
    if (res.ec != std::errc() || res.ptr != digits.data() + digits.size()) {
      fail("malformed base-" + std::to_string(base) + " integer");
    }
    return value;
  }

  static double to_double(std::string_view text) {
    double value = 0.0;
    const auto res = std::from_chars(text.data(), text.data() + text.size(), value);
    if (res.ec == std::errc::result_out_of_range) {
      // Like Python: overflow gives inf, underflow 0.0.
      return std::strtod(std::string(text).c_str(), nullptr);
    }
    return value;
  }

  PyValue parse_list() {
    ++pos_;
    ++brackets_;
    std::vector<PyValue> items;
    while (true) {
      skip_space();
      if (peek() == ']') break;
      items.push_back(parse_unary());
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != ']') fail_here("expected ',' or ']', found");
    }
    ++pos_;
    --brackets_;
    return PyValue::list(std::move(items));
  }

  // "()" is an empty tuple, "(x)" is x, "(x,)" and "(x, y)" are tuples.
  PyValue parse_parenthesized() {
    ++pos_;
    ++brackets_;
    skip_space();
    std::vector<PyValue> items;
    bool tuple = peek() == ')';
    while (peek() != ')') {
      items.push_back(parse_unary());
      skip_space();
      if (peek() == ',') {
        tuple = true;
        ++pos_;
        skip_space();
      } else if (peek() != ')') {
        fail_here("expected ',' or ')', found");
      }
    }
    ++pos_;
    --brackets_;
    if (!tuple) return std::move(items.front());
    return PyValue::tuple(std::move(items));
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  int brackets_ = 0;
  int nesting_ = 0;
};

}  // namespace

std::optional<PyValue> parse_py_literal(std::string_view text, std::string* why) {
  try {
    return LiteralParser(text).parse();
  } catch (const NotALiteral& e) {
    if (why) *why = e.why;
    return std::nullopt;
  }
}

PyValue literal_or_string(std::string_view text) {
  auto value = parse_py_literal(text);
  if (value) return std::move(*value);
  return PyValue::of_str(std::string(text));
}

}  // namespace mvtag
