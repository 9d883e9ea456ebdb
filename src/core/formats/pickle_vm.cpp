// The unpickler's machine: the opcodes of protocols 0..5 interpreted over an arena of nodes
// (stack and memo hold node indices, so shared objects stay shared), with every length, depth
// and expansion checked against the input. It never imports or calls anything: GLOBAL and
// STACK_GLOBAL look the name up in the registry (pickle_globals.cpp), REDUCE and BUILD run what
// the registry's entry says, BINPERSID what the registry's persistent loader says. The tree
// handed out is built at STOP.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/text/utf8.h"
#include "pickle_internal.h"

namespace mvtag {

namespace pickle_internal {

namespace {

constexpr int kHighestProtocol = 5;

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

}  // namespace

PickleValue Machine::run() {
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

// ----- the opcodes

void Machine::step() {
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
    case 'Q': persistent_id(); return;
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

void Machine::dup() {
  const Ref r = top();
  nodes_[r].shared = true;
  push(r);
}

void Machine::pop_any() {
  if (stack_.size() > base()) {
    stack_.pop_back();
  } else {
    pop_mark();  // as Python: POP with nothing above the mark discards the mark
  }
}

void Machine::push_int_text(bool long_form) {
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

void Machine::push_float_text() {
  const std::string_view s = line();
  double v;
  if (!parse_double(s, &v)) fail("bad float '" + printable(s) + "'");
  push(add_float(v));
}

void Machine::push_binfloat() {
  std::uint64_t bits = 0;
  for (char c : take(8)) bits = (bits << 8) | static_cast<unsigned char>(c);  // big-endian
  double v;
  std::memcpy(&v, &bits, 8);
  push(add_float(v));
}

void Machine::push_unicode_text() {
  std::string s;
  if (!raw_unicode_escape_decode(line(), &s)) fail("bad \\u escape in a UNICODE argument");
  push(add_text(Kind::Str, std::move(s)));
}

void Machine::push_tuple_of(std::size_t n) {
  std::vector<Ref> items(n);
  for (std::size_t i = n; i-- > 0;) items[i] = pop();
  push(make_tuple(std::move(items)));
}

void Machine::append_one() {
  const Ref v = pop();
  append_to(top(), {v});
}

void Machine::append_marked() {
  const std::vector<Ref> items = pop_mark();
  append_to(top(), items);
}

void Machine::append_to(Ref list, const std::vector<Ref>& items) {
  if (nodes_[list].kind != Kind::List) fail("cannot append to " + what(list) + ", only to a list");
  auto& dst = nodes_[list].items;
  dst.insert(dst.end(), items.begin(), items.end());
}

void Machine::push_dict_marked() {
  const std::vector<Ref> kv = pop_mark();
  const Ref d = add_seq(Kind::Dict, {});
  set_items(d, kv);
  push(d);
}

void Machine::set_item() {
  const Ref v = pop();
  const Ref k = pop();
  set_items(top(), {k, v});
}

void Machine::set_items_marked() {
  const std::vector<Ref> kv = pop_mark();
  set_items(top(), kv);
}

void Machine::push_global_text() {
  const std::string_view module = line();
  const std::string_view name = line();
  push_global(module, name);
}

void Machine::push_stack_global() {
  const Ref name = pop();
  const Ref module = pop();
  if (!is_text(module) || !is_text(name)) fail("STACK_GLOBAL needs two strings");
  push_global(text_of(module), text_of(name));
}

void Machine::refuse_inst() {
  const std::string_view module = line();
  const std::string_view name = line();
  push_global(module, name);  // refuses anything that is not whitelisted, naming it
  fail("INST (instantiating '" + printable(module) + "." + printable(name) + "') is not supported");
}

void Machine::refuse_obj() {
  const std::vector<Ref> items = pop_mark();
  fail("OBJ (instantiating " + (items.empty() ? std::string("nothing") : what(items[0])) + ") is not supported");
}

// REDUCE: what the callable's registry entry makes of the arguments. A node the call creates
// (not an argument handed back, nor a shared constant) remembers the entry, for BUILD.
void Machine::reduce_top() {
  const Ref args_ref = pop();
  const Ref callable = pop();
  if (nodes_[callable].kind != Kind::Global) fail("REDUCE: " + what(callable) + " cannot be called");
  const std::vector<Ref> args = tuple_items(args_ref, "REDUCE arguments");
  const PickleGlobal& global = *nodes_[callable].global;
  if (global.reduce == nullptr) fail("calling " + global.qualified_name() + " directly is not supported");
  const std::size_t before = nodes_.size();
  const Ref made = global.reduce(*this, global, args);
  if (made >= before) nodes_[made].global = &global;
  push(made);
}

// BUILD: the state applied as the registry entry that made the object says.
void Machine::build_top() {
  const Ref state = pop();
  const Ref inst = top();
  const Node& n = nodes_[inst];
  if (n.kind == Kind::Global || n.global == nullptr || n.global->build == nullptr) {
    fail("BUILD on " + what(inst) + " is not supported");
  }
  n.global->build(*this, inst, state);
}

// BINPERSID: what the registry's persistent loader makes of the id.
void Machine::persistent_id() {
  const PersistentLoad load = persistent_loader(options_);
  if (load == nullptr) fail("persistent IDs are not supported");
  const Ref pid = pop();
  push(load(*this, pid));
}

void Machine::check_protocol() {
  const std::uint64_t proto = read_le(1);
  if (proto > kHighestProtocol) {
    fail("unsupported pickle protocol " + std::to_string(proto) + " (expected 0 to 5)");
  }
}

void Machine::push_string_opcode() {
  const std::string_view s = line();
  if (s.size() < 2 || s.front() != s.back() || (s.front() != '\'' && s.front() != '"')) {
    fail("the STRING argument must be quoted");
  }
  std::string raw;
  if (!escape_decode(s.substr(1, s.size() - 2), &raw)) fail("bad escape in a STRING argument");
  push(add_text(Kind::Latin1, std::move(raw)));
}

void Machine::push_unicode(std::string_view utf8) {
  // Python's pickle decodes with 'surrogatepass'.
  if (!is_valid_utf8(utf8, Surrogates::Allow)) fail("the string is not valid UTF-8");
  push(add_text(Kind::Str, std::string(utf8)));
}

// Little-endian two's complement of any length (LONG1, LONG4), if it fits in 64 bits.
void Machine::push_long(std::string_view b) {
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

// GLOBAL, STACK_GLOBAL, INST: only what the registry lists; anything else is refused here,
// before any argument is read or anything is built.
void Machine::push_global(std::string_view module, std::string_view name) {
  const std::string full = std::string(module) + "." + std::string(name);
  const PickleGlobal* global = find_pickle_global(full, options_);
  if (global == nullptr) fail(refused_global_message(full, options_));
  Node n;
  n.kind = Kind::Global;
  n.global = global;
  push(add(std::move(n)));
}

// Python's dict keys compare by value (1 == 1.0 == True); this key makes equal keys collide.
std::string Machine::hash_key(Ref key, int depth) const {
  if (depth > kPickleMaxDepth) fail("dict key nested deeper than " + std::to_string(kPickleMaxDepth) + " levels (kMaxPickleDepth)");
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

void Machine::set_items(Ref dict, const std::vector<Ref>& kv) {
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

PickleValue Machine::convert(Ref r, int depth) {
  const Node& n = nodes_[r];
  if (depth > kPickleMaxDepth) fail_at(n.offset, "nesting deeper than " + std::to_string(kPickleMaxDepth) + " levels (kMaxPickleDepth)");
  if (in_progress_[r]) fail_at(n.offset, "recursive structure (a container that contains itself)");
  // Shared references may repeat a value; never hand out more than the input can justify.
  if (++out_values_ > data_.size() + 64) fail_at(n.offset, "shared references expand to too many values");
  switch (n.kind) {
    case Kind::None: return PickleValue::none();
    case Kind::Bool: return PickleValue::of_bool(n.boolean);
    case Kind::Int: return PickleValue::of_int(n.integer);
    case Kind::Float: return PickleValue::of_float(n.real);
    case Kind::Str:
    case Kind::Latin1:
    case Kind::Bytes:
      // A long string referenced many times would otherwise grow quadratically with the input.
      out_text_bytes_ += n.text.size();
      if (out_text_bytes_ > 8 * data_.size() + (std::size_t{1} << 20)) fail_at(n.offset, "shared references expand to too much text");
      if (n.kind == Kind::Str) return PickleValue::of_str(n.text);
      if (n.kind == Kind::Latin1) return PickleValue::of_str(latin1_to_utf8(n.text));
      return PickleValue::of_bytes(n.text);
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

}  // namespace pickle_internal

PickleValue parse_pickle(std::string_view data, const std::string& source) {
  const PickleOptions options;
  return pickle_internal::Machine(data, source, options).run();
}

PickleValue parse_pickle(std::string_view data, const std::string& source, const PickleOptions& options,
                         std::size_t* end) {
  if (options.torch && !options.torch_storage) {
    throw_error(ErrorKind::Runtime, "parse_pickle: PickleOptions::torch needs a torch_storage function");
  }
  pickle_internal::Machine u(data, source, options);
  PickleValue v = u.run();
  if (end != nullptr) *end = u.end();
  return v;
}

std::vector<TorchStorageRef> torch_storage_refs(std::string_view data, const std::string& source, std::size_t* end) {
  PickleOptions options;
  options.torch = true;
  std::vector<TorchStorageRef> refs;
  pickle_internal::Machine u(data, source, options);
  u.collect_storages(&refs);
  u.run();
  if (end != nullptr) *end = u.end();
  return refs;
}

PickleValue load_pickle(const std::string& path) { return parse_pickle(read_file(path), path); }

}  // namespace mvtag
