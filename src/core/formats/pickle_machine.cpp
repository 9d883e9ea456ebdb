// The unpickler machine's plumbing: construction, errors that name the offset and opcode,
// reading the input, the stack and memo, the node arena, and reading nodes as the arguments
// that reconstructors expect (text, tuples, ints, shapes, raw bytes).
#include <charconv>
#include <string>
#include <utility>
#include <vector>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/limits.h"
#include "mvtag/core/text/utf8.h"
#include "pickle_internal.h"

namespace mvtag::pickle_internal {

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

Machine::Machine(std::string_view data, const std::string& source, const PickleOptions& options)
    : data_(data), source_(source), options_(options) {
  add_kind(Kind::None);
  add_kind(Kind::Bool);
  nodes_.back().boolean = false;
  add_kind(Kind::Bool);
  nodes_.back().boolean = true;
  add_kind(Kind::Tuple);
}

void Machine::fail_at(std::size_t offset, const std::string& what) const {
  std::string where = "byte " + std::to_string(offset);
  const char* name = opcode_name(op_);
  if (op_ != 0 && name != nullptr && offset == op_start_) where += std::string(" (") + name + ")";
  throw_error(ErrorKind::Data, where + ": " + what, at_file(source_));
}

// ----- input

std::string_view Machine::take(std::uint64_t n) {
  if (n > left()) {
    fail("truncated: needs " + std::to_string(n) + " bytes, only " + std::to_string(left()) + " left");
  }
  const std::string_view s = data_.substr(pos_, static_cast<std::size_t>(n));
  pos_ += static_cast<std::size_t>(n);
  return s;
}

std::uint64_t Machine::read_le(int bytes) {
  const std::string_view s = take(static_cast<std::uint64_t>(bytes));
  std::uint64_t v = 0;
  for (int i = bytes; i-- > 0;) v = (v << 8) | static_cast<unsigned char>(s[static_cast<std::size_t>(i)]);
  return v;
}

// A length field; never more than what is left in the input, nor than limits::kMaxStringBytes.
std::size_t Machine::read_length(int bytes, bool is_signed) {
  const std::uint64_t raw = read_le(bytes);
  if (is_signed && (raw >> (8 * bytes - 1)) != 0) fail("negative length");
  if (raw > limits::kMaxStringBytes) {
    fail("length " + std::to_string(raw) + " is above the limit of " + std::to_string(limits::kMaxStringBytes) +
         " bytes per string (kMaxStringBytes)");
  }
  if (raw > left()) {
    fail("truncated or corrupt: length " + std::to_string(raw) + " exceeds the " + std::to_string(left()) +
         " bytes left");
  }
  return static_cast<std::size_t>(raw);
}

// The argument of a text opcode, without its newline.
std::string_view Machine::line() {
  const std::size_t nl = data_.find('\n', pos_);
  if (nl == std::string_view::npos) fail("truncated: the argument has no terminating newline");
  const std::string_view s = data_.substr(pos_, nl - pos_);
  pos_ = nl + 1;
  return s;
}

// ----- the stack and the memo

Ref Machine::pop() {
  if (stack_.size() <= base()) fail("stack underflow");
  const Ref r = stack_.back();
  stack_.pop_back();
  return r;
}

Ref Machine::top() const {
  if (stack_.size() <= base()) fail("stack underflow");
  return stack_.back();
}

std::vector<Ref> Machine::pop_mark() {
  if (marks_.empty()) fail("stack underflow: no MARK to pop to");
  const std::size_t m = marks_.back();
  marks_.pop_back();
  std::vector<Ref> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
  stack_.resize(m);
  return items;
}

void Machine::memo_get(std::uint64_t index) {
  const auto it = memo_.find(index);
  if (it == memo_.end()) fail("memo key " + std::to_string(index) + " is not defined");
  nodes_[it->second].shared = true;
  push(it->second);
}

std::uint64_t Machine::memo_index_text() {
  const std::string_view s = line();
  std::uint64_t v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || s.empty()) {
    fail("bad memo index '" + printable(s) + "'");
  }
  return v;
}

Ref Machine::add_int(std::int64_t v) {
  Node n;
  n.kind = Kind::Int;
  n.integer = v;
  return add(std::move(n));
}

Ref Machine::add_float(double v) {
  Node n;
  n.kind = Kind::Float;
  n.real = v;
  return add(std::move(n));
}

// ----- the arena

Ref Machine::add(Node n) {
  n.offset = op_start_;
  nodes_.push_back(std::move(n));
  return nodes_.size() - 1;
}

Ref Machine::add_kind(Kind k) {
  Node n;
  n.kind = k;
  return add(std::move(n));
}

Ref Machine::add_text(Kind k, std::string s) {
  Node n;
  n.kind = k;
  n.text = std::move(s);
  return add(std::move(n));
}

Ref Machine::add_seq(Kind k, std::vector<Ref> items) {
  Node n;
  n.kind = k;
  n.items = std::move(items);
  return add(std::move(n));
}

std::string Machine::what(Ref r) const {
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
    case Kind::Global: return "'" + n.global->qualified_name() + "'";
    case Kind::DType: return "numpy.dtype";
    case Kind::TorchStorage: return "torch storage";
  }
  return "?";
}

std::string Machine::text_of(Ref r) const {
  const Node& n = nodes_[r];
  return n.kind == Kind::Latin1 ? latin1_to_utf8(n.text) : n.text;
}

std::string Machine::text_arg(Ref r, const std::string& role) const {
  if (!is_text(r)) fail(role + " must be a str, got " + what(r));
  return text_of(r);
}

const std::vector<Ref>& Machine::tuple_items(Ref r, const std::string& role) const {
  if (nodes_[r].kind != Kind::Tuple) fail(role + " must be a tuple, got " + what(r));
  return nodes_[r].items;
}

std::int64_t Machine::int_of(Ref r, const std::string& role) const {
  const Node& n = nodes_[r];
  if (n.kind == Kind::Int) return n.integer;
  if (n.kind == Kind::Bool) return n.boolean ? 1 : 0;
  fail(role + " must be an int, got " + what(r));
}

std::vector<std::int64_t> Machine::shape_of(Ref r) const {
  std::vector<std::int64_t> shape;
  for (Ref d : tuple_items(r, "an array shape")) {
    const std::int64_t v = int_of(d, "an array dimension");
    if (v < 0) fail("negative array dimension " + std::to_string(v));
    shape.push_back(v);
  }
  return shape;
}

std::string_view Machine::raw_bytes_of(Ref r, const std::string& role, std::string* scratch) const {
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

}  // namespace mvtag::pickle_internal
