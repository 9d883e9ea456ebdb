#include "mvtag/core/formats/pickle.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <unordered_map>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/text/utf8.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "mvtag's pickle reader assumes a little-endian host"
#endif

namespace mvtag {

// ---------------------------------------------------------------------------------------------
// PickleValue

PickleValue PickleValue::none() { return {}; }
PickleValue PickleValue::of_bool(bool v) {
  PickleValue p;
  p.type = Type::Bool;
  p.boolean = v;
  return p;
}
PickleValue PickleValue::of_int(std::int64_t v) {
  PickleValue p;
  p.type = Type::Int;
  p.integer = v;
  return p;
}
PickleValue PickleValue::of_float(double v) {
  PickleValue p;
  p.type = Type::Float;
  p.real = v;
  return p;
}
PickleValue PickleValue::of_str(std::string utf8) {
  PickleValue p;
  p.type = Type::Str;
  p.text = std::move(utf8);
  return p;
}
PickleValue PickleValue::of_bytes(std::string raw) {
  PickleValue p;
  p.type = Type::Bytes;
  p.text = std::move(raw);
  return p;
}
PickleValue PickleValue::of_list(std::vector<PickleValue> items) {
  PickleValue p;
  p.type = Type::List;
  p.items = std::move(items);
  return p;
}
PickleValue PickleValue::of_tuple(std::vector<PickleValue> items) {
  PickleValue p;
  p.type = Type::Tuple;
  p.items = std::move(items);
  return p;
}
PickleValue PickleValue::of_dict(std::vector<std::pair<PickleValue, PickleValue>> entries) {
  PickleValue p;
  p.type = Type::Dict;
  p.entries = std::move(entries);
  return p;
}
PickleValue PickleValue::of_array(NDArray array) {
  PickleValue p;
  p.type = Type::Array;
  p.array = std::move(array);
  return p;
}

const PickleValue* PickleValue::find(std::string_view key) const {
  if (type != Type::Dict) return nullptr;
  for (const auto& [k, v] : entries) {
    if (k.type == Type::Str && k.text == key) return &v;
  }
  return nullptr;
}

bool PickleValue::operator==(const PickleValue& o) const {
  if (type != o.type) return false;
  switch (type) {
    case Type::None: return true;
    case Type::Bool: return boolean == o.boolean;
    case Type::Int: return integer == o.integer;
    case Type::Float: return real == o.real;
    case Type::Str:
    case Type::Bytes: return text == o.text;
    case Type::List:
    case Type::Tuple: return items == o.items;
    case Type::Dict: return entries == o.entries;
    case Type::Array:
      return array.dtype == o.array.dtype && array.shape == o.array.shape && array.data == o.array.data;
  }
  return false;
}

const char* pickle_type_name(PickleValue::Type type) {
  switch (type) {
    case PickleValue::Type::None: return "None";
    case PickleValue::Type::Bool: return "bool";
    case PickleValue::Type::Int: return "int";
    case PickleValue::Type::Float: return "float";
    case PickleValue::Type::Str: return "str";
    case PickleValue::Type::Bytes: return "bytes";
    case PickleValue::Type::List: return "list";
    case PickleValue::Type::Tuple: return "tuple";
    case PickleValue::Type::Dict: return "dict";
    case PickleValue::Type::Array: return "ndarray";
  }
  return "?";
}

std::string latin1_to_utf8(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (unsigned char c : raw) append_utf8(out, c);  // latin-1 bytes are U+0000..U+00FF
  return out;
}

namespace {

constexpr int kHighestProtocol = 5;

// ---------------------------------------------------------------------------------------------
// Text helpers

std::string hex_byte(unsigned char c) {
  static const char* hex = "0123456789abcdef";
  return {hex[c >> 4], hex[c & 15]};
}

// A name from the input, safe to put in a message.
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

const char* opcode_name(std::uint8_t op) {
  switch (op) {
    case '(': return "MARK";
    case '.': return "STOP";
    case '0': return "POP";
    case '1': return "POP_MARK";
    case '2': return "DUP";
    case 'F': return "FLOAT";
    case 'I': return "INT";
    case 'J': return "BININT";
    case 'K': return "BININT1";
    case 'L': return "LONG";
    case 'M': return "BININT2";
    case 'N': return "NONE";
    case 'P': return "PERSID";
    case 'Q': return "BINPERSID";
    case 'R': return "REDUCE";
    case 'S': return "STRING";
    case 'T': return "BINSTRING";
    case 'U': return "SHORT_BINSTRING";
    case 'V': return "UNICODE";
    case 'X': return "BINUNICODE";
    case 'a': return "APPEND";
    case 'b': return "BUILD";
    case 'c': return "GLOBAL";
    case 'd': return "DICT";
    case '}': return "EMPTY_DICT";
    case 'e': return "APPENDS";
    case 'g': return "GET";
    case 'h': return "BINGET";
    case 'i': return "INST";
    case 'j': return "LONG_BINGET";
    case 'l': return "LIST";
    case ']': return "EMPTY_LIST";
    case 'o': return "OBJ";
    case 'p': return "PUT";
    case 'q': return "BINPUT";
    case 'r': return "LONG_BINPUT";
    case 's': return "SETITEM";
    case 't': return "TUPLE";
    case ')': return "EMPTY_TUPLE";
    case 'u': return "SETITEMS";
    case 'G': return "BINFLOAT";
    case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES";
    case 0x80: return "PROTO";
    case 0x81: return "NEWOBJ";
    case 0x82: return "EXT1";
    case 0x83: return "EXT2";
    case 0x84: return "EXT4";
    case 0x85: return "TUPLE1";
    case 0x86: return "TUPLE2";
    case 0x87: return "TUPLE3";
    case 0x88: return "NEWTRUE";
    case 0x89: return "NEWFALSE";
    case 0x8a: return "LONG1";
    case 0x8b: return "LONG4";
    case 0x8c: return "SHORT_BINUNICODE";
    case 0x8d: return "BINUNICODE8";
    case 0x8e: return "BINBYTES8";
    case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";
    case 0x92: return "NEWOBJ_EX";
    case 0x93: return "STACK_GLOBAL";
    case 0x94: return "MEMOIZE";
    case 0x95: return "FRAME";
    case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return nullptr;
  }
}

// ---------------------------------------------------------------------------------------------
// numpy pieces

// The only callables a pickle may name.
enum class Global {
  Reconstruct, NdarrayType, DTypeType, FromBuffer, Scalar, CodecsEncode, BytesType,
  OrderedDict, RebuildTensor, RebuildParameter, TorchStorageType,  // PickleOptions::torch only
};

struct WhitelistEntry {
  const char* name;
  Global global;
};
constexpr WhitelistEntry kWhitelist[] = {
    {"numpy.core.multiarray._reconstruct", Global::Reconstruct},
    {"numpy._core.multiarray._reconstruct", Global::Reconstruct},
    {"numpy.ndarray", Global::NdarrayType},
    {"numpy.dtype", Global::DTypeType},
    {"numpy.core.numeric._frombuffer", Global::FromBuffer},
    {"numpy._core.numeric._frombuffer", Global::FromBuffer},
    {"numpy.core.multiarray.scalar", Global::Scalar},
    {"numpy._core.multiarray.scalar", Global::Scalar},
    {"_codecs.encode", Global::CodecsEncode},  // Python 3 bytes at protocol <= 2
    {"__builtin__.bytes", Global::BytesType},  // empty bytes at protocol <= 2
    {"builtins.bytes", Global::BytesType},
};

// What torch.save adds for a state dict (PickleOptions::torch).
constexpr WhitelistEntry kTorchWhitelist[] = {
    {"collections.OrderedDict", Global::OrderedDict},
    {"torch._utils._rebuild_tensor_v2", Global::RebuildTensor},
    {"torch._utils._rebuild_parameter", Global::RebuildParameter},
};

// torch's storage types, by the dtype of their elements. Storages of dtypes NDArray lacks
// (complex, quantized) are refused as unknown globals.
struct TorchStorageType {
  const char* name;
  DType dtype;
};
constexpr TorchStorageType kTorchStorages[] = {
    {"torch.FloatStorage", DType::F32},    {"torch.DoubleStorage", DType::F64},
    {"torch.HalfStorage", DType::F16},     {"torch.BFloat16Storage", DType::BF16},
    {"torch.LongStorage", DType::I64},     {"torch.IntStorage", DType::I32},
    {"torch.ShortStorage", DType::I16},    {"torch.CharStorage", DType::I8},
    {"torch.ByteStorage", DType::U8},      {"torch.BoolStorage", DType::Bool},
    {"torch.UntypedStorage", DType::U8},   {"torch.storage.UntypedStorage", DType::U8},
};

// A numpy dtype as pickled: kind and item size, plus the byte order set by BUILD.
struct DTypeSpec {
  DType dtype = DType::F32;
  char order = '<';  // '<' or '>'
};


void byteswap_items(std::vector<std::uint8_t>& data, std::size_t itemsize) {
  if (itemsize < 2) return;
  for (std::size_t i = 0; i + itemsize <= data.size(); i += itemsize) {
    for (std::size_t a = i, b = i + itemsize - 1; a < b; ++a, --b) std::swap(data[a], data[b]);
  }
}

// Fortran-ordered bytes to C order.
std::vector<std::uint8_t> fortran_to_c(const std::vector<std::uint8_t>& src,
                                       const std::vector<std::int64_t>& shape, std::size_t itemsize) {
  const std::size_t ndim = shape.size();
  std::vector<std::uint8_t> dst(src.size());
  if (src.empty() || ndim < 2) return src;
  std::vector<std::int64_t> fstride(ndim, 1), idx(ndim, 0);
  for (std::size_t k = 1; k < ndim; ++k) fstride[k] = fstride[k - 1] * shape[k - 1];
  const std::size_t n = src.size() / itemsize;
  for (std::size_t c = 0; c < n; ++c) {
    std::int64_t f = 0;
    for (std::size_t k = 0; k < ndim; ++k) f += idx[k] * fstride[k];
    std::memcpy(&dst[c * itemsize], &src[static_cast<std::size_t>(f) * itemsize], itemsize);
    for (std::size_t k = ndim; k-- > 0;) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
  return dst;
}

// ---------------------------------------------------------------------------------------------
// The unpickler: a small machine over an arena of nodes. Stack and memo hold node indices, so
// objects shared through the memo (and mutated later by APPENDS, SETITEMS or BUILD) are shared
// as in Python. The tree handed out is built at STOP.

using Ref = std::size_t;

enum class Kind {
  None, Bool, Int, Float, Str, Latin1, Bytes, List, Tuple, Dict, Array,
  Global, DType, UnbuiltArray,  // internal: a whitelisted callable, a dtype, _reconstruct's result
  TorchStorage,                 // internal: a storage named by a persistent id
};

// A torch storage's bytes, held by the caller of parse_pickle.
struct StorageView {
  TorchStorageRef ref;
  std::string_view bytes;
};

// Kept small: a hostile file of one-byte opcodes makes one node per byte.
struct Node {
  Kind kind = Kind::None;
  bool boolean = false;
  bool shared = false;  // fetched again through the memo or DUP: may appear more than once
  bool ordered_dict = false;  // a Dict made by collections.OrderedDict (accepts BUILD)
  Global global = Global::Reconstruct;
  DTypeSpec dtype;
  std::int64_t integer = 0;
  double real = 0.0;
  std::string text;        // Str (UTF-8), Latin1 (a Python 2 str's raw bytes), Bytes
  std::vector<Ref> items;  // List, Tuple; Dict: key, value, key, value ...
  std::unique_ptr<std::unordered_map<std::string, std::size_t>> dict_slots;  // key -> index in items
  std::unique_ptr<NDArray> array;
  std::unique_ptr<StorageView> storage;  // TorchStorage
  const char* global_name = nullptr;
  std::size_t offset = 0;  // where the opcode that made it starts
};

// Immutable values Python shares too; they cost no node per opcode.
constexpr Ref kNoneRef = 0, kFalseRef = 1, kTrueRef = 2, kEmptyTupleRef = 3;

class Unpickler {
 public:
  Unpickler(std::string_view data, const std::string& source, const PickleOptions& options)
      : data_(data), source_(source), options_(options) {
    add_kind(Kind::None);
    add_kind(Kind::Bool);
    nodes_.back().boolean = false;
    add_kind(Kind::Bool);
    nodes_.back().boolean = true;
    add_kind(Kind::Tuple);
  }

  std::size_t end() const { return pos_; }
  // Storage ids are recorded here instead of resolved, and tensors become None.
  void collect_storages(std::vector<TorchStorageRef>* out) { collected_ = out; }

  PickleValue run() {
    while (true) {
      if (pos_ >= data_.size()) {
        op_start_ = pos_;
        op_ = 0;
        fail("truncated: the pickle ends without a STOP opcode");
      }
      op_start_ = pos_;
      op_ = static_cast<std::uint8_t>(data_[pos_++]);
      if (op_ == '.') break;
      step();
    }
    const Ref root = pop();
    in_progress_.assign(nodes_.size(), 0);
    return convert(root, 0);
  }

 private:
  // ----- errors
  [[noreturn]] void fail_at(std::size_t offset, const std::string& what) const {
    std::string where = "byte " + std::to_string(offset);
    const char* name = opcode_name(op_);
    if (op_ != 0 && name != nullptr && offset == op_start_) where += std::string(" (") + name + ")";
    throw_error(ErrorKind::Data, where + ": " + what, at_file(source_));
  }
  [[noreturn]] void fail(const std::string& what) const { fail_at(op_start_, what); }

  // ----- input
  std::size_t left() const { return data_.size() - pos_; }
  std::string_view take(std::uint64_t n) {
    if (n > left()) {
      fail("truncated: needs " + std::to_string(n) + " bytes, only " + std::to_string(left()) + " left");
    }
    const std::string_view s = data_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  std::uint64_t read_le(int bytes) {
    const std::string_view s = take(static_cast<std::uint64_t>(bytes));
    std::uint64_t v = 0;
    for (int i = bytes; i-- > 0;) v = (v << 8) | static_cast<unsigned char>(s[static_cast<std::size_t>(i)]);
    return v;
  }
  // A length field; never more than what is left in the input.
  std::size_t read_length(int bytes, bool is_signed = false) {
    const std::uint64_t raw = read_le(bytes);
    if (is_signed && (raw >> (8 * bytes - 1)) != 0) fail("negative length");
    if (raw > left()) {
      fail("truncated or corrupt: length " + std::to_string(raw) + " exceeds the " +
           std::to_string(left()) + " bytes left");
    }
    return static_cast<std::size_t>(raw);
  }
  // The argument of a text opcode, without its newline.
  std::string_view line() {
    const std::size_t nl = data_.find('\n', pos_);
    if (nl == std::string_view::npos) fail("truncated: the argument has no terminating newline");
    const std::string_view s = data_.substr(pos_, nl - pos_);
    pos_ = nl + 1;
    return s;
  }

  // ----- nodes and the stack
  Ref add(Node n) {
    n.offset = op_start_;
    nodes_.push_back(std::move(n));
    return nodes_.size() - 1;
  }
  Ref add_kind(Kind k) {
    Node n;
    n.kind = k;
    return add(std::move(n));
  }
  Ref add_int(std::int64_t v) {
    Node n;
    n.kind = Kind::Int;
    n.integer = v;
    return add(std::move(n));
  }
  Ref add_float(double v) {
    Node n;
    n.kind = Kind::Float;
    n.real = v;
    return add(std::move(n));
  }
  Ref add_text(Kind k, std::string s) {
    Node n;
    n.kind = k;
    n.text = std::move(s);
    return add(std::move(n));
  }
  Ref add_seq(Kind k, std::vector<Ref> items) {
    Node n;
    n.kind = k;
    n.items = std::move(items);
    return add(std::move(n));
  }
  std::size_t base() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(Ref r) { stack_.push_back(r); }
  Ref pop() {
    if (stack_.size() <= base()) fail("stack underflow");
    const Ref r = stack_.back();
    stack_.pop_back();
    return r;
  }
  Ref top() const {
    if (stack_.size() <= base()) fail("stack underflow");
    return stack_.back();
  }
  std::vector<Ref> pop_mark() {
    if (marks_.empty()) fail("stack underflow: no MARK to pop to");
    const std::size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Ref> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return items;
  }

  // ----- describing nodes in messages
  std::string what(Ref r) const {
    const Node& n = nodes_[r];
    switch (n.kind) {
      case Kind::None: return "None";
      case Kind::Bool: return "bool";
      case Kind::Int: return "int";
      case Kind::Float: return "float";
      case Kind::Str:
      case Kind::Latin1: return "str";
      case Kind::Bytes: return "bytes";
      case Kind::List: return "list";
      case Kind::Tuple: return "tuple";
      case Kind::Dict: return "dict";
      case Kind::Array:
      case Kind::UnbuiltArray: return "numpy.ndarray";
      case Kind::Global: return std::string("'") + n.global_name + "'";
      case Kind::DType: return "numpy.dtype";
      case Kind::TorchStorage: return "torch storage";
    }
    return "?";
  }
  bool is_text(Ref r) const { return nodes_[r].kind == Kind::Str || nodes_[r].kind == Kind::Latin1; }
  // Text as Python 3 sees it with encoding='latin-1'.
  std::string text_of(Ref r) const {
    const Node& n = nodes_[r];
    return n.kind == Kind::Latin1 ? latin1_to_utf8(n.text) : n.text;
  }
  // Raw bytes of bytes, bytearray or a Python 2 str.
  bool is_raw(Ref r) const { return nodes_[r].kind == Kind::Bytes || nodes_[r].kind == Kind::Latin1; }

  // ----- the opcodes
  void step();
  void pop_any();
  void dup();
  void push_int_text(bool long_form);
  void push_float_text();
  void push_binfloat();
  void push_unicode_text();
  void push_tuple_of(std::size_t n);
  void append_one();
  void append_marked();
  void push_dict_marked();
  void set_item();
  void set_items_marked();
  void push_global_text();
  void push_stack_global();
  [[noreturn]] void refuse_inst();
  [[noreturn]] void refuse_obj();
  void reduce_top();
  void build_top();
  void check_protocol();
  void push_string_opcode();
  void push_unicode(std::string_view utf8);
  void push_long(std::string_view le_bytes);
  void push_global(std::string_view module, std::string_view name);
  void memo_put(std::uint64_t index) { memo_[index] = top(); }
  void memo_get(std::uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) fail("memo key " + std::to_string(index) + " is not defined");
    nodes_[it->second].shared = true;
    push(it->second);
  }
  std::uint64_t memo_index_text() {
    const std::string_view s = line();
    std::uint64_t v = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size() || s.empty()) {
      fail("bad memo index '" + printable(s) + "'");
    }
    return v;
  }
  void append_to(Ref list, const std::vector<Ref>& items) {
    if (nodes_[list].kind != Kind::List) fail("cannot append to " + what(list) + ", only to a list");
    auto& dst = nodes_[list].items;
    dst.insert(dst.end(), items.begin(), items.end());
  }
  void set_items(Ref dict, const std::vector<Ref>& kv);
  std::string hash_key(Ref key, int depth) const;
  Ref make_tuple(std::vector<Ref> items) { return add_seq(Kind::Tuple, std::move(items)); }

  Ref reduce(Ref callable, Ref args);
  void build(Ref inst, Ref state);
  Ref reduce_dtype(const std::vector<Ref>& args);
  void build_dtype(Ref inst, const std::vector<Ref>& state);
  void build_array(Ref inst, const std::vector<Ref>& state);
  Ref reduce_frombuffer(const std::vector<Ref>& args);
  Ref reduce_scalar(const std::vector<Ref>& args);
  Ref reduce_encode(const std::vector<Ref>& args);
  void persistent_load();
  Ref reduce_ordered_dict(const std::vector<Ref>& args);
  Ref reduce_rebuild_tensor(const std::vector<Ref>& args);
  Ref reduce_rebuild_parameter(const std::vector<Ref>& args);
  std::string text_arg(Ref r, const std::string& role) const {
    if (!is_text(r)) fail(role + " must be a str, got " + what(r));
    return text_of(r);
  }
  const std::vector<Ref>& tuple_items(Ref r, const std::string& role) const {
    if (nodes_[r].kind != Kind::Tuple) fail(role + " must be a tuple, got " + what(r));
    return nodes_[r].items;
  }
  std::vector<std::int64_t> shape_of(Ref r) const;
  std::int64_t int_of(Ref r, const std::string& role) const {
    const Node& n = nodes_[r];
    if (n.kind == Kind::Int) return n.integer;
    if (n.kind == Kind::Bool) return n.boolean ? 1 : 0;
    fail(role + " must be an int, got " + what(r));
  }
  // Points into the node (valid until the next node is added); a str is converted into *scratch.
  std::string_view raw_bytes_of(Ref r, const std::string& role, std::string* scratch) const;
  NDArray make_array(const DTypeSpec& spec, std::vector<std::int64_t> shape, std::string_view raw,
                     bool fortran) const;
  NDArray array_from_list(const DTypeSpec& spec, std::vector<std::int64_t> shape,
                          const std::vector<Ref>& values) const;

  // ----- the tree handed out
  PickleValue convert(Ref r, int depth);

  std::string_view data_;
  const std::string& source_;
  const PickleOptions& options_;
  std::size_t storage_bytes_ = 0;  // bytes of torch storages fetched (they justify array data too)
  std::vector<TorchStorageRef>* collected_ = nullptr;
  std::size_t pos_ = 0;
  std::size_t op_start_ = 0;
  std::uint8_t op_ = 0;
  std::vector<Node> nodes_;
  std::vector<Ref> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, Ref> memo_;
  std::vector<char> in_progress_;
  std::size_t out_values_ = 0;
  std::size_t out_array_bytes_ = 0;
};

// Python's int(): optional sign and decimal digits; must fit in 64 bits.
bool parse_int64(std::string_view s, std::int64_t* out) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parse_double(std::string_view s, double* out) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// Python 2's repr() of a str, undone (codecs.escape_decode).
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

// Python's 'raw-unicode-escape' decoder: latin-1 bytes plus \uXXXX and \UXXXXXXXX escapes
// (only after an odd number of backslashes).
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

void Unpickler::step() {
  switch (op_) {
    case '(': marks_.push_back(stack_.size()); return;
    case '0': pop_any(); return;
    case '1': pop_mark(); return;
    case '2': dup(); return;
    case 'N': push(kNoneRef); return;
    case 0x88: push(kTrueRef); return;
    case 0x89: push(kFalseRef); return;
    case 'I': push_int_text(false); return;
    case 'L': push_int_text(true); return;
    case 'J': push(add_int(static_cast<std::int32_t>(static_cast<std::uint32_t>(read_le(4))))); return;
    case 'K': push(add_int(static_cast<std::int64_t>(read_le(1)))); return;
    case 'M': push(add_int(static_cast<std::int64_t>(read_le(2)))); return;
    case 0x8a: push_long(take(read_length(1))); return;
    case 0x8b: push_long(take(read_length(4, true))); return;
    case 'F': push_float_text(); return;
    case 'G': push_binfloat(); return;
    case 'S': push_string_opcode(); return;
    case 'T': push(add_text(Kind::Latin1, std::string(take(read_length(4, true))))); return;
    case 'U': push(add_text(Kind::Latin1, std::string(take(read_length(1))))); return;
    case 'V': push_unicode_text(); return;
    case 'X': push_unicode(take(read_length(4))); return;
    case 0x8c: push_unicode(take(read_length(1))); return;
    case 0x8d: push_unicode(take(read_length(8))); return;
    case 'B': push(add_text(Kind::Bytes, std::string(take(read_length(4))))); return;
    case 'C': push(add_text(Kind::Bytes, std::string(take(read_length(1))))); return;
    case 0x8e:
    case 0x96: push(add_text(Kind::Bytes, std::string(take(read_length(8))))); return;
    case 0x97: fail("out-of-band buffers are not supported (the pickle was written with a buffer_callback)");
    case 0x98:
      if (!is_raw(top())) fail("READONLY_BUFFER applied to " + what(top()) + ", expected bytes");
      return;
    case ')': push(kEmptyTupleRef); return;
    case 't': push(make_tuple(pop_mark())); return;
    case 0x85: push_tuple_of(1); return;
    case 0x86: push_tuple_of(2); return;
    case 0x87: push_tuple_of(3); return;
    case ']': push(add_seq(Kind::List, {})); return;
    case 'l': push(add_seq(Kind::List, pop_mark())); return;
    case 'a': append_one(); return;
    case 'e': append_marked(); return;
    case '}': push(add_seq(Kind::Dict, {})); return;
    case 'd': push_dict_marked(); return;
    case 's': set_item(); return;
    case 'u': set_items_marked(); return;
    case 'p': memo_put(memo_index_text()); return;
    case 'q': memo_put(read_le(1)); return;
    case 'r': memo_put(read_le(4)); return;
    case 0x94: memo_put(memo_.size()); return;
    case 'g': memo_get(memo_index_text()); return;
    case 'h': memo_get(read_le(1)); return;
    case 'j': memo_get(read_le(4)); return;
    case 'c': push_global_text(); return;
    case 0x93: push_stack_global(); return;
    case 'i': refuse_inst();
    case 'o': refuse_obj();
    case 'R': reduce_top(); return;
    case 'b': build_top(); return;
    case 0x81:
    case 0x92: fail("creating objects with " + std::string(opcode_name(op_)) + " is not supported");
    case 'Q':
      if (!options_.torch) fail("persistent IDs are not supported");
      persistent_load();
      return;
    case 'P': fail("persistent IDs are not supported");
    case 0x82:
    case 0x83:
    case 0x84: fail("extension registry codes are not supported");
    case 0x8f:
    case 0x90:
    case 0x91: fail("sets are not supported");
    case 0x80: check_protocol(); return;
    case 0x95: read_length(8); return;  // frames only group opcodes
    default: fail("unknown opcode 0x" + hex_byte(op_) + " (corrupt file?)");
  }
}

void Unpickler::dup() {
  const Ref r = top();
  nodes_[r].shared = true;
  push(r);
}

void Unpickler::pop_any() {
  if (stack_.size() > base()) {
    stack_.pop_back();
  } else {
    pop_mark();  // as Python: POP with nothing above the mark discards the mark
  }
}

void Unpickler::push_int_text(bool long_form) {
  std::string_view s = line();
  if (!long_form && (s == "00" || s == "01")) {  // how protocols 0 and 1 write False and True
    push(s == "01" ? kTrueRef : kFalseRef);
    return;
  }
  if (long_form && !s.empty() && s.back() == 'L') s.remove_suffix(1);
  std::int64_t v;
  if (!parse_int64(s, &v)) fail("bad integer '" + printable(s) + "' (or one that needs more than 64 bits)");
  push(add_int(v));
}

void Unpickler::push_float_text() {
  const std::string_view s = line();
  double v;
  if (!parse_double(s, &v)) fail("bad float '" + printable(s) + "'");
  push(add_float(v));
}

void Unpickler::push_binfloat() {
  std::uint64_t bits = 0;
  for (char c : take(8)) bits = (bits << 8) | static_cast<unsigned char>(c);  // big-endian
  double v;
  std::memcpy(&v, &bits, 8);
  push(add_float(v));
}

void Unpickler::push_unicode_text() {
  std::string s;
  if (!raw_unicode_escape_decode(line(), &s)) fail("bad \\u escape in a UNICODE argument");
  push(add_text(Kind::Str, std::move(s)));
}

void Unpickler::push_tuple_of(std::size_t n) {
  std::vector<Ref> items(n);
  for (std::size_t i = n; i-- > 0;) items[i] = pop();
  push(make_tuple(std::move(items)));
}

void Unpickler::append_one() {
  const Ref v = pop();
  append_to(top(), {v});
}

void Unpickler::append_marked() {
  const std::vector<Ref> items = pop_mark();
  append_to(top(), items);
}

void Unpickler::push_dict_marked() {
  const std::vector<Ref> kv = pop_mark();
  const Ref d = add_seq(Kind::Dict, {});
  set_items(d, kv);
  push(d);
}

void Unpickler::set_item() {
  const Ref v = pop();
  const Ref k = pop();
  set_items(top(), {k, v});
}

void Unpickler::set_items_marked() {
  const std::vector<Ref> kv = pop_mark();
  set_items(top(), kv);
}

void Unpickler::push_global_text() {
  const std::string_view module = line();
  const std::string_view name = line();
  push_global(module, name);
}

void Unpickler::push_stack_global() {
  const Ref name = pop();
  const Ref module = pop();
  if (!is_text(module) || !is_text(name)) fail("STACK_GLOBAL needs two strings");
  push_global(text_of(module), text_of(name));
}

void Unpickler::refuse_inst() {
  const std::string_view module = line();
  const std::string_view name = line();
  push_global(module, name);  // refuses anything that is not whitelisted, naming it
  fail("INST (instantiating '" + printable(module) + "." + printable(name) + "') is not supported");
}

void Unpickler::refuse_obj() {
  const std::vector<Ref> items = pop_mark();
  fail("OBJ (instantiating " + (items.empty() ? std::string("nothing") : what(items[0])) + ") is not supported");
}

void Unpickler::reduce_top() {
  const Ref args = pop();
  const Ref callable = pop();
  push(reduce(callable, args));
}

void Unpickler::build_top() {
  const Ref state = pop();
  build(top(), state);
}

void Unpickler::check_protocol() {
  const std::uint64_t proto = read_le(1);
  if (proto > kHighestProtocol) {
    fail("unsupported pickle protocol " + std::to_string(proto) + " (expected 0 to 5)");
  }
}

void Unpickler::push_string_opcode() {
  const std::string_view s = line();
  if (s.size() < 2 || s.front() != s.back() || (s.front() != '\'' && s.front() != '"')) {
    fail("the STRING argument must be quoted");
  }
  std::string raw;
  if (!escape_decode(s.substr(1, s.size() - 2), &raw)) fail("bad escape in a STRING argument");
  push(add_text(Kind::Latin1, std::move(raw)));
}

void Unpickler::push_unicode(std::string_view utf8) {
  // Python's pickle decodes with 'surrogatepass'.
  if (!is_valid_utf8(utf8, Surrogates::Allow)) fail("the string is not valid UTF-8");
  push(add_text(Kind::Str, std::string(utf8)));
}

// Little-endian two's complement of any length (LONG1, LONG4), if it fits in 64 bits.
void Unpickler::push_long(std::string_view b) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(b[i]); };
  const bool negative = !b.empty() && (byte(b.size() - 1) & 0x80) != 0;
  const unsigned char fill = negative ? 0xFF : 0x00;
  for (std::size_t i = 8; i < b.size(); ++i) {
    if (byte(i) != fill) fail("integer needs more than 64 bits");
  }
  if (b.size() > 8 && ((byte(7) & 0x80) != 0) != negative) fail("integer needs more than 64 bits");
  std::uint64_t v = negative ? ~std::uint64_t{0} : 0;
  for (std::size_t i = std::min<std::size_t>(b.size(), 8); i-- > 0;) {
    v = (v << 8) | byte(i);
  }
  push(add_int(static_cast<std::int64_t>(v)));
}

void Unpickler::push_global(std::string_view module, std::string_view name) {
  const std::string full = std::string(module) + "." + std::string(name);
  const auto push_entry = [&](Global global, const char* entry_name) {
    Node n;
    n.kind = Kind::Global;
    n.global = global;
    n.global_name = entry_name;
    push(add(std::move(n)));
  };
  for (const auto& entry : kWhitelist) {
    if (full == entry.name) return push_entry(entry.global, entry.name);
  }
  if (options_.torch) {
    for (const auto& entry : kTorchWhitelist) {
      if (full == entry.name) return push_entry(entry.global, entry.name);
    }
    for (const auto& entry : kTorchStorages) {
      if (full == entry.name) {
        push_entry(Global::TorchStorageType, entry.name);
        nodes_[stack_.back()].dtype.dtype = entry.dtype;
        return;
      }
    }
    fail("global '" + printable(full) +
         "' is not allowed: only what torch.save writes for a state dict of tensors (OrderedDict, "
         "_rebuild_tensor_v2, _rebuild_parameter, storage types) and numpy's array constructors may be "
         "named (nothing was imported or run)");
  }
  fail("global '" + printable(full) +
       "' is not allowed: only numpy's array, dtype and scalar constructors may be named "
       "(nothing was imported or run)");
}

// Python's dict keys compare by value (1 == 1.0 == True); this key makes equal keys collide.
std::string Unpickler::hash_key(Ref key, int depth) const {
  if (depth > kPickleMaxDepth) fail("dict key nested deeper than " + std::to_string(kPickleMaxDepth) + " levels");
  const Node& n = nodes_[key];
  switch (n.kind) {
    case Kind::None: return "N";
    case Kind::Bool: return n.boolean ? "n1" : "n0";
    case Kind::Int: return "n" + std::to_string(n.integer);
    case Kind::Float: {
      const double d = n.real;
      if (d >= -9.2e18 && d <= 9.2e18 && d == std::trunc(d)) {
        return "n" + std::to_string(static_cast<std::int64_t>(d));
      }
      std::uint64_t bits;
      std::memcpy(&bits, &d, 8);
      return "f" + std::to_string(bits);
    }
    case Kind::Str: return "s" + n.text;
    case Kind::Latin1: return "s" + latin1_to_utf8(n.text);
    case Kind::Bytes: return "b" + n.text;
    case Kind::Tuple: {
      std::string k = "t" + std::to_string(n.items.size());
      for (Ref item : n.items) {
        const std::string part = hash_key(item, depth + 1);
        k += ":" + std::to_string(part.size()) + ":" + part;
      }
      return k;
    }
    default: fail("unhashable dict key of type " + what(key));
  }
}

void Unpickler::set_items(Ref dict, const std::vector<Ref>& kv) {
  if (nodes_[dict].kind != Kind::Dict) fail("cannot set items on " + what(dict) + ", only on a dict");
  if (kv.size() % 2 != 0) fail("odd number of items for a dict");
  for (std::size_t i = 0; i < kv.size(); i += 2) {
    const std::string key = hash_key(kv[i], 0);
    Node& d = nodes_[dict];
    if (!d.dict_slots) d.dict_slots = std::make_unique<std::unordered_map<std::string, std::size_t>>();
    const auto [it, inserted] = d.dict_slots->emplace(key, d.items.size());
    if (inserted) {
      d.items.push_back(kv[i]);
      d.items.push_back(kv[i + 1]);
    } else {
      d.items[it->second + 1] = kv[i + 1];  // Python keeps the first key, takes the new value
    }
  }
}

Ref Unpickler::reduce(Ref callable, Ref args_ref) {
  if (nodes_[callable].kind != Kind::Global) fail("REDUCE: " + what(callable) + " cannot be called");
  const std::vector<Ref> args = tuple_items(args_ref, "REDUCE arguments");
  const std::string name = nodes_[callable].global_name;
  switch (nodes_[callable].global) {
    case Global::Reconstruct: {
      if (args.size() != 3) fail(name + " expects 3 arguments, got " + std::to_string(args.size()));
      if (nodes_[args[0]].kind != Kind::Global || nodes_[args[0]].global != Global::NdarrayType) {
        fail(name + " of " + what(args[0]) + ": only numpy.ndarray is supported");
      }
      return add_kind(Kind::UnbuiltArray);
    }
    case Global::DTypeType: return reduce_dtype(args);
    case Global::FromBuffer: return reduce_frombuffer(args);
    case Global::Scalar: return reduce_scalar(args);
    case Global::CodecsEncode: return reduce_encode(args);
    case Global::BytesType:
      if (args.empty()) return add_text(Kind::Bytes, "");
      if (args.size() == 1 && nodes_[args[0]].kind == Kind::Bytes) return add_text(Kind::Bytes, nodes_[args[0]].text);
      fail(name + " is only supported with no argument or a bytes argument");
    case Global::OrderedDict: return reduce_ordered_dict(args);
    case Global::RebuildTensor: return reduce_rebuild_tensor(args);
    case Global::RebuildParameter: return reduce_rebuild_parameter(args);
    case Global::NdarrayType:
    case Global::TorchStorageType: break;
  }
  fail("calling " + name + " directly is not supported");
}

Ref Unpickler::reduce_dtype(const std::vector<Ref>& args) {
  if (args.empty() || !is_text(args[0])) fail("numpy.dtype expects a type string such as 'f4'");
  std::string code = text_of(args[0]);
  DTypeSpec spec;
  if (!code.empty() && (code[0] == '<' || code[0] == '>' || code[0] == '|' || code[0] == '=')) {
    spec.order = code[0] == '>' ? '>' : '<';
    code.erase(0, 1);
  }
  const std::string shown = "'" + printable(code) + "'";
  if (code.size() < 2) fail("unknown numpy dtype " + shown);
  const char kind = code[0];
  const std::string size = code.substr(1);
  bool known = true;
  if (kind == 'f' && size == "2") spec.dtype = DType::F16;
  else if (kind == 'f' && size == "4") spec.dtype = DType::F32;
  else if (kind == 'f' && size == "8") spec.dtype = DType::F64;
  else if (kind == 'i' && size == "1") spec.dtype = DType::I8;
  else if (kind == 'i' && size == "2") spec.dtype = DType::I16;
  else if (kind == 'i' && size == "4") spec.dtype = DType::I32;
  else if (kind == 'i' && size == "8") spec.dtype = DType::I64;
  else if (kind == 'u' && size == "1") spec.dtype = DType::U8;
  else if (kind == 'b' && size == "1") spec.dtype = DType::Bool;
  else known = false;
  if (!known) {
    std::string kind_name;
    switch (kind) {
      case 'O': kind_name = "object arrays"; break;
      case 'c': kind_name = "complex numbers"; break;
      case 'V': kind_name = "structured (void) records"; break;
      case 'S':
      case 'U': kind_name = "strings"; break;
      case 'M':
      case 'm': kind_name = "dates and times"; break;
      case 'u': kind_name = "uint" + std::to_string(std::atoi(size.c_str()) * 8); break;
      default: kind_name = "an unknown kind";
    }
    fail("numpy dtype " + shown + " (" + kind_name +
         ") is not supported; expected float16/32/64, int8/16/32/64, uint8 or bool");
  }
  Node n;
  n.kind = Kind::DType;
  n.dtype = spec;
  return add(std::move(n));
}

void Unpickler::build(Ref inst, Ref state_ref) {
  const Kind k = nodes_[inst].kind;
  if (k == Kind::Dict && nodes_[inst].ordered_dict) {
    // An OrderedDict's instance attributes (a state dict's `_metadata`): not part of the mapping.
    if (nodes_[state_ref].kind != Kind::Dict) fail("the state of an OrderedDict must be a dict, got " + what(state_ref));
    return;
  }
  if (k != Kind::DType && k != Kind::UnbuiltArray) fail("BUILD on " + what(inst) + " is not supported");
  const std::vector<Ref> state = tuple_items(state_ref, "the state of " + what(inst));
  if (k == Kind::DType) {
    build_dtype(inst, state);
  } else {
    build_array(inst, state);
  }
}

// numpy's dtype state: (version, byte order, subarray, names, fields, elsize, alignment, flags[, metadata]).
void Unpickler::build_dtype(Ref inst, const std::vector<Ref>& state) {
  if (state.size() < 2 || !is_text(state[1])) fail("numpy dtype state without a byte order");
  const std::string order = text_of(state[1]);
  if (order.size() != 1 || std::string("<>|=").find(order[0]) == std::string::npos) {
    fail("numpy dtype byte order '" + printable(order) + "' (expected <, >, | or =)");
  }
  for (std::size_t i = 2; i < 5 && i < state.size(); ++i) {
    if (nodes_[state[i]].kind != Kind::None) fail("structured or subarray numpy dtypes are not supported");
  }
  nodes_[inst].dtype.order = order[0] == '>' ? '>' : '<';  // '=' is native: little-endian here
}

std::vector<std::int64_t> Unpickler::shape_of(Ref r) const {
  std::vector<std::int64_t> shape;
  for (Ref d : tuple_items(r, "an array shape")) {
    const std::int64_t v = int_of(d, "an array dimension");
    if (v < 0) fail("negative array dimension " + std::to_string(v));
    shape.push_back(v);
  }
  return shape;
}

std::string_view Unpickler::raw_bytes_of(Ref r, const std::string& role, std::string* scratch) const {
  const Node& n = nodes_[r];
  if (n.kind == Kind::Bytes || n.kind == Kind::Latin1) return n.text;
  if (n.kind != Kind::Str) fail(role + " must be bytes, got " + what(r));
  for (std::size_t i = 0; i < n.text.size();) {  // numpy encodes a str data argument as latin-1
    const Utf8Char c = decode_utf8(n.text, i, Surrogates::Allow);
    if (!c.valid || c.cp > 0xFF) fail(role + ": a str with characters beyond latin-1");
    *scratch += static_cast<char>(c.cp);
    i += c.length;
  }
  return *scratch;
}

NDArray Unpickler::make_array(const DTypeSpec& spec, std::vector<std::int64_t> shape,
                              std::string_view raw, bool fortran) const {
  const std::size_t itemsize = dtype_size(spec.dtype);
  std::uint64_t expected = itemsize;
  for (std::int64_t d : shape) {
    const auto ud = static_cast<std::uint64_t>(d);
    if (ud != 0 && expected > std::numeric_limits<std::uint64_t>::max() / ud) {
      fail("array shape " + shape_string(shape) + " is too large");
    }
    expected *= ud;
  }
  if (raw.size() != expected) {
    fail("array data holds " + std::to_string(raw.size()) + " bytes, but shape " + shape_string(shape) +
         " of " + dtype_name(spec.dtype) + " needs " + std::to_string(expected));
  }
  NDArray a;
  a.dtype = spec.dtype;
  a.data.assign(raw.begin(), raw.end());
  if (spec.order == '>') byteswap_items(a.data, itemsize);
  if (fortran) a.data = fortran_to_c(a.data, shape, itemsize);
  a.shape = std::move(shape);
  return a;
}

template <typename T>
T load(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

template <typename T>
void store(std::vector<std::uint8_t>& data, std::size_t i, T v) {
  std::memcpy(&data[i * sizeof(T)], &v, sizeof(T));
}

// numpy writes a list instead of bytes for object arrays; accept it for numbers too.
NDArray Unpickler::array_from_list(const DTypeSpec& spec, std::vector<std::int64_t> shape,
                                   const std::vector<Ref>& values) const {
  NDArray a;
  a.dtype = spec.dtype;
  a.shape = std::move(shape);
  if (static_cast<std::uint64_t>(a.numel()) != values.size()) {
    fail("array data list has " + std::to_string(values.size()) + " values, shape " + shape_string(a.shape) +
         " needs " + std::to_string(a.numel()));
  }
  a.data.resize(values.size() * dtype_size(a.dtype));
  for (std::size_t i = 0; i < values.size(); ++i) {
    const Node& n = nodes_[values[i]];
    if (n.kind == Kind::Float && !is_floating(a.dtype)) fail("a float in the data list of an integer array");
    const double d = n.kind == Kind::Float ? n.real : static_cast<double>(int_of(values[i], "an array value"));
    const std::int64_t iv = n.kind == Kind::Float ? 0 : int_of(values[i], "an array value");
    switch (a.dtype) {
      case DType::Bool: a.data[i] = d != 0.0; break;
      case DType::U8: store(a.data, i, static_cast<std::uint8_t>(iv)); break;
      case DType::I8: store(a.data, i, static_cast<std::int8_t>(iv)); break;
      case DType::I16: store(a.data, i, static_cast<std::int16_t>(iv)); break;
      case DType::I32: store(a.data, i, static_cast<std::int32_t>(iv)); break;
      case DType::I64: store(a.data, i, iv); break;
      case DType::F16: store(a.data, i, float_to_half(static_cast<float>(d))); break;
      case DType::F32: store(a.data, i, static_cast<float>(d)); break;
      case DType::F64: store(a.data, i, d); break;
      case DType::BF16: break;
    }
  }
  return a;
}

// ndarray state: ([version,] shape, dtype, is_fortran, data); data is bytes, a Python 2 str or a list.
void Unpickler::build_array(Ref inst, const std::vector<Ref>& state) {
  if (state.size() != 4 && state.size() != 5) {
    fail("numpy array state has " + std::to_string(state.size()) + " items, expected 4 or 5");
  }
  const std::size_t o = state.size() - 4;
  std::vector<std::int64_t> shape = shape_of(state[o]);
  if (nodes_[state[o + 1]].kind != Kind::DType) fail("numpy array state without a dtype");
  const DTypeSpec spec = nodes_[state[o + 1]].dtype;
  const bool fortran = int_of(state[o + 2], "is_fortran") != 0;
  const Ref data = state[o + 3];
  NDArray a;
  if (nodes_[data].kind == Kind::List) {
    a = array_from_list(spec, std::move(shape), nodes_[data].items);
    if (fortran) a.data = fortran_to_c(a.data, a.shape, dtype_size(a.dtype));
  } else {
    std::string scratch;
    a = make_array(spec, std::move(shape), raw_bytes_of(data, "numpy array data", &scratch), fortran);
  }
  Node& n = nodes_[inst];
  n.kind = Kind::Array;
  n.array = std::make_unique<NDArray>(std::move(a));
}

// numpy >= 1.16 at protocol 5: _frombuffer(buffer, dtype, shape, order).
Ref Unpickler::reduce_frombuffer(const std::vector<Ref>& args) {
  if (args.size() != 4) fail("_frombuffer expects 4 arguments, got " + std::to_string(args.size()));
  if (nodes_[args[1]].kind != Kind::DType) fail("_frombuffer without a dtype");
  if (!is_text(args[3])) fail("_frombuffer order must be 'C' or 'F'");
  const std::string order = text_of(args[3]);
  if (order != "C" && order != "F") fail("_frombuffer order '" + printable(order) + "' (expected C or F)");
  std::string scratch;
  Node n;
  n.kind = Kind::Array;
  n.array = std::make_unique<NDArray>(make_array(nodes_[args[1]].dtype, shape_of(args[2]),
                                                 raw_bytes_of(args[0], "_frombuffer data", &scratch), order == "F"));
  return add(std::move(n));
}

// A numpy scalar (np.float32(1.5)): becomes the Python number it stands for.
Ref Unpickler::reduce_scalar(const std::vector<Ref>& args) {
  if (args.size() != 2 || nodes_[args[0]].kind != Kind::DType) fail("numpy scalar expects (dtype, bytes)");
  std::string scratch;
  const NDArray a =
      make_array(nodes_[args[0]].dtype, {}, raw_bytes_of(args[1], "numpy scalar data", &scratch), false);
  const std::uint8_t* p = a.data.data();
  Node n;
  n.kind = Kind::Int;
  switch (a.dtype) {
    case DType::Bool: return p[0] != 0 ? kTrueRef : kFalseRef;
    case DType::U8: n.integer = load<std::uint8_t>(p); break;
    case DType::I8: n.integer = load<std::int8_t>(p); break;
    case DType::I16: n.integer = load<std::int16_t>(p); break;
    case DType::I32: n.integer = load<std::int32_t>(p); break;
    case DType::I64: n.integer = load<std::int64_t>(p); break;
    case DType::F16:
    case DType::BF16:
    case DType::F32:
      n.kind = Kind::Float;
      n.real = a.to_float()[0];
      break;
    case DType::F64:
      n.kind = Kind::Float;
      n.real = load<double>(p);
      break;
  }
  return add(std::move(n));
}

// _codecs.encode(text, 'latin1'): how Python 3 pickles bytes at protocols 0..2.
Ref Unpickler::reduce_encode(const std::vector<Ref>& args) {
  if (args.size() != 2 || !is_text(args[0]) || !is_text(args[1])) fail("_codecs.encode expects (str, encoding)");
  const std::string encoding = text_of(args[1]);
  if (encoding != "latin1" && encoding != "latin-1" && encoding != "iso-8859-1" && encoding != "iso8859-1") {
    fail("_codecs.encode with encoding '" + printable(encoding) + "' is not supported (expected latin1)");
  }
  std::string scratch;
  return add_text(Kind::Bytes, std::string(raw_bytes_of(args[0], "_codecs.encode argument", &scratch)));
}

// torch.save's storage ids: ('storage', storage type, key, location, numel) in the zip format;
// the legacy format adds a sixth item, a view, which is None since PyTorch 1.0.
void Unpickler::persistent_load() {
  const Ref pid = pop();
  const std::vector<Ref> items = tuple_items(pid, "a persistent id");
  if (items.size() != 5 && items.size() != 6) {
    fail("persistent id with " + std::to_string(items.size()) +
         " items; expected ('storage', storage type, key, location, numel)");
  }
  const std::string kind = text_arg(items[0], "the persistent id's kind");
  if (kind != "storage") fail("persistent id of kind '" + printable(kind) + "' (only 'storage' is supported)");
  const Node& type = nodes_[items[1]];
  if (type.kind != Kind::Global || type.global != Global::TorchStorageType) {
    fail("persistent id: " + what(items[1]) + " is not a torch storage type");
  }
  if (items.size() == 6 && nodes_[items[5]].kind != Kind::None) {
    fail("storage views (files written before PyTorch 1.0) are not supported");
  }
  TorchStorageRef ref;
  ref.key = text_arg(items[2], "the storage key");
  ref.location = text_arg(items[3], "the storage location");
  ref.dtype = type.dtype.dtype;
  ref.numel = int_of(items[4], "the storage size");
  std::uint64_t expected = 0;
  if (!checked_nbytes(ref.dtype, {ref.numel}, &expected)) fail("storage size " + std::to_string(ref.numel) + " is invalid");
  Node n;
  n.kind = Kind::TorchStorage;
  if (collected_ != nullptr) {
    collected_->push_back(ref);
    n.storage = std::make_unique<StorageView>(StorageView{std::move(ref), {}});
    push(add(std::move(n)));
    return;
  }
  std::string_view bytes;
  try {
    bytes = options_.torch_storage(ref);
  } catch (const Error& e) {
    fail("storage '" + printable(ref.key) + "': " + e.message());
  }
  if (bytes.size() != expected) {
    fail("storage '" + printable(ref.key) + "' holds " + std::to_string(bytes.size()) + " bytes, but its id says " +
         std::to_string(ref.numel) + " " + dtype_name(ref.dtype) + " elements (" + std::to_string(expected) + " bytes)");
  }
  storage_bytes_ += bytes.size();
  n.storage = std::make_unique<StorageView>(StorageView{std::move(ref), bytes});
  push(add(std::move(n)));
}

Ref Unpickler::reduce_ordered_dict(const std::vector<Ref>& args) {
  if (!args.empty()) fail("collections.OrderedDict with arguments is not supported");
  const Ref d = add_seq(Kind::Dict, {});
  nodes_[d].ordered_dict = true;
  return d;
}

// The elements a strided view of `storage` selects, in C order.
NDArray strided_copy(const StorageView& storage, std::int64_t offset, std::vector<std::int64_t> shape,
                     const std::vector<std::int64_t>& strides) {
  const std::size_t itemsize = dtype_size(storage.ref.dtype);
  NDArray a;
  a.dtype = storage.ref.dtype;
  a.shape = std::move(shape);
  const std::size_t ndim = a.shape.size();
  a.data.resize(static_cast<std::size_t>(a.numel()) * itemsize);
  if (a.data.empty()) return a;
  const auto* src = reinterpret_cast<const std::uint8_t*>(storage.bytes.data());
  bool contiguous = true;
  for (std::size_t k = ndim, expect = 1; k-- > 0;) {
    if (a.shape[k] != 1 && static_cast<std::size_t>(strides[k]) != expect) contiguous = false;
    expect *= static_cast<std::size_t>(a.shape[k]);
  }
  if (contiguous) {
    std::memcpy(a.data.data(), src + static_cast<std::size_t>(offset) * itemsize, a.data.size());
    return a;
  }
  // Innermost dimension in a loop, the outer ones counted in idx.
  const std::int64_t inner = ndim == 0 ? 1 : a.shape[ndim - 1];
  const std::int64_t inner_stride = ndim == 0 ? 0 : strides[ndim - 1];
  std::vector<std::int64_t> idx(ndim, 0);
  std::uint8_t* dst = a.data.data();
  for (std::size_t row = 0, rows = a.data.size() / itemsize / static_cast<std::size_t>(inner); row < rows; ++row) {
    std::int64_t base = offset;
    for (std::size_t k = 0; k + 1 < ndim; ++k) base += idx[k] * strides[k];
    for (std::int64_t j = 0; j < inner; ++j, dst += itemsize) {
      std::memcpy(dst, src + static_cast<std::size_t>(base + j * inner_stride) * itemsize, itemsize);
    }
    for (std::size_t k = ndim - 1; k-- > 0;) {
      if (++idx[k] < a.shape[k]) break;
      idx[k] = 0;
    }
  }
  return a;
}

// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]).
Ref Unpickler::reduce_rebuild_tensor(const std::vector<Ref>& args) {
  if (args.size() != 6 && args.size() != 7) {
    fail("_rebuild_tensor_v2 expects 6 or 7 arguments, got " + std::to_string(args.size()));
  }
  if (nodes_[args[0]].kind != Kind::TorchStorage) fail("_rebuild_tensor_v2 of " + what(args[0]) + ", expected a storage");
  const StorageView& storage = *nodes_[args[0]].storage;
  const std::int64_t offset = int_of(args[1], "the storage offset");
  std::vector<std::int64_t> shape = shape_of(args[2]);
  std::vector<std::int64_t> strides;
  for (Ref r : tuple_items(args[3], "the tensor strides")) strides.push_back(int_of(r, "a stride"));
  const Node& hooks = nodes_[args[5]];
  if (hooks.kind != Kind::Dict || !hooks.items.empty()) fail("tensors with backward hooks are not supported");
  if (args.size() == 7 && nodes_[args[6]].kind != Kind::None && nodes_[args[6]].kind != Kind::Dict) {
    fail("tensor metadata must be None or a dict, got " + what(args[6]));
  }
  if (strides.size() != shape.size()) {
    fail("tensor of shape " + shape_string(shape) + " with " + std::to_string(strides.size()) + " strides");
  }
  if (collected_ != nullptr) return kNoneRef;
  std::uint64_t nbytes = 0;
  if (!checked_nbytes(storage.ref.dtype, shape, &nbytes)) fail("tensor shape " + shape_string(shape) + " is too large");
  const std::string view = "tensor of shape " + shape_string(shape) + ", strides " + shape_string(strides) +
                           " and offset " + std::to_string(offset) + " on storage '" + printable(storage.ref.key) +
                           "' (" + std::to_string(storage.ref.numel) + " elements)";
  // A state dict's tensors never overlap themselves, so none is larger than its storage.
  if (nbytes > storage.bytes.size()) fail(view + ": more elements than the storage holds");
  if (offset < 0) fail(view + ": negative offset");
  if (nbytes > 0) {
    std::int64_t last = offset;  // the last element read, checked against the storage step by step
    for (std::size_t k = 0; k < shape.size(); ++k) {
      if (strides[k] < 0) fail(view + ": negative stride");
      if (strides[k] > 0 && shape[k] - 1 > (storage.ref.numel - 1 - last) / strides[k]) {
        fail(view + ": reads beyond the end of the storage");
      }
      last += (shape[k] - 1) * strides[k];
    }
    if (last >= storage.ref.numel) fail(view + ": reads beyond the end of the storage");
  }
  Node n;
  n.kind = Kind::Array;
  n.array = std::make_unique<NDArray>(strided_copy(storage, offset, std::move(shape), strides));
  return add(std::move(n));
}

// _rebuild_parameter(data, requires_grad, backward_hooks): the tensor itself.
Ref Unpickler::reduce_rebuild_parameter(const std::vector<Ref>& args) {
  if (args.size() != 3) fail("_rebuild_parameter expects 3 arguments, got " + std::to_string(args.size()));
  if (nodes_[args[0]].kind != Kind::Array && collected_ == nullptr) fail("_rebuild_parameter of " + what(args[0]) + ", expected a tensor");
  const Node& hooks = nodes_[args[2]];
  if (hooks.kind != Kind::Dict || !hooks.items.empty()) fail("parameters with backward hooks are not supported");
  return args[0];
}

PickleValue Unpickler::convert(Ref r, int depth) {
  const Node& n = nodes_[r];
  if (depth > kPickleMaxDepth) fail_at(n.offset, "nesting deeper than " + std::to_string(kPickleMaxDepth) + " levels");
  if (in_progress_[r]) fail_at(n.offset, "recursive structure (a container that contains itself)");
  // Shared references may repeat a value; never hand out more than the input can justify.
  if (++out_values_ > data_.size() + 64) fail_at(n.offset, "shared references expand to too many values");
  switch (n.kind) {
    case Kind::None: return PickleValue::none();
    case Kind::Bool: return PickleValue::of_bool(n.boolean);
    case Kind::Int: return PickleValue::of_int(n.integer);
    case Kind::Float: return PickleValue::of_float(n.real);
    case Kind::Str: return PickleValue::of_str(n.text);
    case Kind::Latin1: return PickleValue::of_str(latin1_to_utf8(n.text));
    case Kind::Bytes: return PickleValue::of_bytes(n.text);
    case Kind::Array:
      out_array_bytes_ += n.array->data.size();
      if (out_array_bytes_ > 8 * (data_.size() + storage_bytes_) + 64) {
        fail_at(n.offset, "shared references expand to too much array data");
      }
      // A node nothing fetched twice is in the tree once: hand its data over instead of copying.
      return PickleValue::of_array(n.shared ? *n.array : std::move(*nodes_[r].array));
    case Kind::UnbuiltArray: fail_at(n.offset, "numpy array without its data (no BUILD followed)");
    case Kind::Global: fail_at(n.offset, "a bare " + what(r) + " cannot be represented");
    case Kind::DType: fail_at(n.offset, "a bare numpy.dtype cannot be represented");
    case Kind::TorchStorage: fail_at(n.offset, "a bare torch storage cannot be represented (only tensors)");
    case Kind::List:
    case Kind::Tuple:
    case Kind::Dict: break;
  }
  in_progress_[r] = 1;
  PickleValue out;
  const std::vector<Ref>& items = n.items;
  if (n.kind == Kind::Dict) {
    out.type = PickleValue::Type::Dict;
    for (std::size_t i = 0; i + 1 < items.size(); i += 2) {
      out.entries.emplace_back(convert(items[i], depth + 1), convert(items[i + 1], depth + 1));
    }
  } else {
    out.type = n.kind == Kind::List ? PickleValue::Type::List : PickleValue::Type::Tuple;
    for (Ref item : items) out.items.push_back(convert(item, depth + 1));
  }
  in_progress_[r] = 0;
  return out;
}

}  // namespace

PickleValue parse_pickle(std::string_view data, const std::string& source) {
  const PickleOptions options;
  return Unpickler(data, source, options).run();
}

PickleValue parse_pickle(std::string_view data, const std::string& source, const PickleOptions& options,
                         std::size_t* end) {
  if (options.torch && !options.torch_storage) {
    throw_error(ErrorKind::Runtime, "parse_pickle: PickleOptions::torch needs a torch_storage function");
  }
  Unpickler u(data, source, options);
  PickleValue v = u.run();
  if (end != nullptr) *end = u.end();
  return v;
}

std::vector<TorchStorageRef> torch_storage_refs(std::string_view data, const std::string& source, std::size_t* end) {
  PickleOptions options;
  options.torch = true;
  std::vector<TorchStorageRef> refs;
  Unpickler u(data, source, options);
  u.collect_storages(&refs);
  u.run();
  if (end != nullptr) *end = u.end();
  return refs;
}

PickleValue load_pickle(const std::string& path) { return parse_pickle(read_file(path), path); }


}  // namespace mvtag
