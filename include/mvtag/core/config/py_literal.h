// Python literals, as the original's conf.txt values were: every value went through eval(),
// and the raw text was kept when that failed. This is the subset a configuration uses:
// None, True/False, int, float, str, list and tuple, with Python's own syntax.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mvtag {

struct PyValue {
  enum class Kind { None, Bool, Int, Float, Str, List, Tuple };

  Kind kind = Kind::None;
  bool boolean = false;
  std::int64_t integer = 0;
  double real = 0.0;
  std::string str;             // UTF-8
  std::vector<PyValue> items;  // List and Tuple

  static PyValue none() { return {}; }
  static PyValue of_bool(bool b);
  static PyValue of_int(std::int64_t i);
  static PyValue of_float(double d);
  static PyValue of_str(std::string s);
  static PyValue list(std::vector<PyValue> items);
  static PyValue tuple(std::vector<PyValue> items);

  bool is_sequence() const { return kind == Kind::List || kind == Kind::Tuple; }
  // Python's name of the type: "NoneType", "bool", "int", "float", "str", "list", "tuple".
  const char* type_name() const;
  // Python's repr(): parse_py_literal(v.repr()) gives v back (floats are shortest round-trip,
  // strings single-quoted unless they hold a ' and no ").
  std::string repr() const;

  // Same kind and value, element by element (an int never equals a float here).
  bool operator==(const PyValue& other) const;
  bool operator!=(const PyValue& other) const { return !(*this == other); }
};

// Parses `text` as one Python literal with Python's syntax: surrounding whitespace, a trailing
// "# comment", newlines inside brackets, adjacent strings concatenated, unary +/- on numbers,
// "(x)" as x and "a, b" as a tuple; strings with escapes and r/u prefixes, triple quotes;
// decimal, hex, octal and binary integers. Returns nullopt when it is not such a literal (a name,
// a call, arithmetic, a dict, digit separators, an int beyond 64 bits): eval() would have failed or
// computed something. `why` (optional) then says what was found.
std::optional<PyValue> parse_py_literal(std::string_view text, std::string* why = nullptr);

// The original's rule for a conf value: the literal if `text` is one, else `text` itself as a str.
PyValue literal_or_string(std::string_view text);

}  // namespace mvtag
