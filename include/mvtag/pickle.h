// Python pickles, read safely: the opcode stream is interpreted into a plain value tree and
// nothing is ever imported or called. Only the globals numpy needs to rebuild arrays (and the
// ones Python 3 uses to pickle bytes) are accepted; any other global is refused with an error
// naming the file, the global and the byte offset. The original's feature files (Python 2,
// protocol <= 2, numpy arrays) and anything Python 3 writes at protocols 0..5 with numpy 1.x or
// 2.x can be read.
//
// Python 2 `str` values (STRING, BINSTRING, SHORT_BINSTRING) are read as with
// pickle.load(..., encoding='latin-1'): they become Str (latin-1 decoded to UTF-8), except where
// numpy needs bytes (array data), which get the raw bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mvtag/ndarray.h"

namespace mvtag {

struct PickleValue {
  enum class Type { None, Bool, Int, Float, Str, Bytes, List, Tuple, Dict, Array };

  Type type = Type::None;
  bool boolean = false;
  std::int64_t integer = 0;
  double real = 0.0;
  std::string text;                                           // Str: UTF-8; Bytes: raw bytes
  std::vector<PickleValue> items;                             // List, Tuple
  std::vector<std::pair<PickleValue, PickleValue>> entries;  // Dict, in insertion order
  NDArray array;                                              // Array (numpy arrays; C order)

  static PickleValue none();
  static PickleValue of_bool(bool v);
  static PickleValue of_int(std::int64_t v);
  static PickleValue of_float(double v);
  static PickleValue of_str(std::string utf8);
  static PickleValue of_bytes(std::string raw);
  static PickleValue of_list(std::vector<PickleValue> items);
  static PickleValue of_tuple(std::vector<PickleValue> items);
  static PickleValue of_dict(std::vector<std::pair<PickleValue, PickleValue>> entries);
  static PickleValue of_array(NDArray array);

  // The value of a Dict entry whose key is the Str `key`; nullptr if absent or not a Dict.
  const PickleValue* find(std::string_view key) const;

  // Structural equality (arrays: same dtype, shape and bytes).
  bool operator==(const PickleValue& other) const;
  bool operator!=(const PickleValue& other) const { return !(*this == other); }
};

// Latin-1 bytes as UTF-8 text: how a Python 2 string reads with encoding='latin-1'.
std::string latin1_to_utf8(std::string_view raw);

// "None", "bool", "int", "float", "str", "bytes", "list", "tuple", "dict", "ndarray".
const char* pickle_type_name(PickleValue::Type type);

// Decodes one pickle (trailing bytes after STOP are ignored, as Python does). `source` names
// the data in error messages (usually the file path). Every malformed input (truncation, bad
// opcode, stack underflow, memo miss, absurd length, refused global, unsupported dtype, nesting
// deeper than 1000 levels) throws Error(Data) naming `source` and the byte offset; nothing is
// allocated beyond what the input can justify.
PickleValue parse_pickle(std::string_view data, const std::string& source);

// Reads and decodes a pickle file (Error(Io) if it cannot be read).
PickleValue load_pickle(const std::string& path);

// Writes `value` as pickle protocol 2 exactly as Python 2's pickle module with numpy 1.x would
// have: Str that is pure ASCII and Bytes as Python 2 `str` (SHORT_BINSTRING / BINSTRING), other
// Str as `unicode` (BINUNICODE), arrays through numpy.core.multiarray._reconstruct with their
// data as a Python 2 `str`. Reading the result back gives the same tree, except that Bytes come
// back as Str (latin-1), as Python 2 strings do. Throws Error(Data) for values Python 2 and
// numpy 1.x cannot express (bfloat16 arrays, nesting deeper than 1000 levels).
std::string write_pickle(const PickleValue& value);

}  // namespace mvtag
