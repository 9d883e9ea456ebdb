// Python pickles, read safely: the opcode stream is interpreted into a plain value tree and
// nothing is ever imported or called. Only the globals numpy needs to rebuild arrays (and the
// ones Python 3 uses to pickle bytes) are accepted, as one registry lists them
// (pickle_allowed_globals); any other global is refused where the pickle names it, before
// anything is built, with an error naming the file, the global and the byte offset. The
// original's feature files (Python 2, protocol <= 2, numpy arrays) and anything Python 3 writes
// at protocols 0..5 with numpy 1.x or 2.x can be read.
//
// With PickleOptions::torch, the few extra globals torch.save uses for a state dict are accepted
// too (see PickleOptions); feature files never get them.
//
// Python 2 `str` values (STRING, BINSTRING, SHORT_BINSTRING) are read as with
// pickle.load(..., encoding='latin-1'): they become Str (latin-1 decoded to UTF-8), except where
// numpy needs bytes (array data), which get the raw bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mvtag/core/base/limits.h"
#include "mvtag/core/formats/ndarray.h"

namespace mvtag {

// Values nested deeper than this are refused, when reading and when writing.
constexpr int kPickleMaxDepth = limits::kMaxPickleDepth;

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

// A storage a torch.save pickle names by persistent id ('storage', torch.<T>Storage, key,
// location, numel[, view]). The bytes live outside the pickle: in the zip's <archive>/data/<key>,
// or after the pickle in the legacy format.
struct TorchStorageRef {
  std::string key;
  DType dtype = DType::F32;  // from the storage type: FloatStorage = float32, UntypedStorage = uint8 ...
  std::int64_t numel = 0;    // elements of dtype
  std::string location;      // "cpu", "cuda:0", ...
};

struct PickleOptions {
  // Also accept what torch.save writes for a state dict, and nothing more: collections.OrderedDict
  // (a dict; a BUILD of attributes such as `_metadata` is dropped), torch._utils._rebuild_tensor_v2
  // and _rebuild_parameter (the tensor becomes an Array, copied into C order from its storage
  // offset, sizes and strides), the torch.<T>Storage types of the dtypes NDArray has, and
  // BINPERSID storage ids resolved through `torch_storage`.
  bool torch = false;
  // Returns the storage's bytes (numel x dtype size); the view must stay valid until
  // parse_pickle returns. Throws for an unknown key. Required when `torch` is set.
  std::function<std::string_view(const TorchStorageRef&)> torch_storage;
};

// parse_pickle with options; *end (if given) receives the offset just past STOP.
PickleValue parse_pickle(std::string_view data, const std::string& source, const PickleOptions& options,
                         std::size_t* end = nullptr);

// The globals parse_pickle lets a pickle name with `options`, as "module.name", from the one
// registry the reader consults; naming any other is an error.
std::vector<std::string> pickle_allowed_globals(const PickleOptions& options);

// The storages a torch.save pickle refers to, in the order of their ids (a storage shared by
// several tensors appears once per reference), without needing their bytes: the legacy format
// stores the storages after the pickle, and their sizes depend on the dtypes named inside it.
// *end (if given) receives the offset just past STOP. Errors as parse_pickle.
std::vector<TorchStorageRef> torch_storage_refs(std::string_view data, const std::string& source,
                                                std::size_t* end = nullptr);

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
