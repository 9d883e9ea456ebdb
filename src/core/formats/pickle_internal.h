// The safe unpickler's parts and where they meet (internal to mvtag_core; callers use
// mvtag/core/formats/pickle.h). The machine (pickle_vm.cpp) interprets the opcodes into an arena
// of nodes and never imports or calls anything. Every global a pickle may name, and what REDUCE
// and BUILD do with it, is looked up in one registry (pickle_globals.cpp), assembled from the
// tables of the modules that reconstruct objects: numpy arrays, dtypes and scalars
// (pickle_numpy.cpp), Python's own bytes (pickle_text.cpp) and, only with PickleOptions::torch,
// torch state dicts (pickle_torch.cpp). A global the registry does not list is refused where
// the pickle names it, before anything is built from it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mvtag/core/formats/ndarray.h"
#include "mvtag/core/formats/pickle.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "mvtag's pickle reader assumes a little-endian host"
#endif

namespace mvtag::pickle_internal {

// ---------------------------------------------------------------------------------------------
// Nodes: what the machine's stack and memo hold. A Ref is an index into the machine's arena, so
// objects shared through the memo (and mutated later by APPENDS, SETITEMS or BUILD) are shared
// as in Python.

using Ref = std::size_t;

enum class Kind {
  None, Bool, Int, Float, Str, Latin1, Bytes, List, Tuple, Dict, Array,
  Global, DType, UnbuiltArray,  // a listed global, a numpy dtype, _reconstruct's result before BUILD
  TorchStorage,                 // a storage named by a persistent id
};

// A numpy dtype as pickled: kind and item size, plus the byte order set by BUILD.
struct DTypeSpec {
  DType dtype = DType::F32;
  char order = '<';  // '<' or '>'
};

// A torch storage's bytes, held by the caller of parse_pickle.
struct StorageView {
  TorchStorageRef ref;
  std::string_view bytes;
};

struct PickleGlobal;

// Kept small: a hostile file of one-byte opcodes makes one node per byte.
struct Node {
  Kind kind = Kind::None;
  bool boolean = false;
  bool shared = false;  // fetched again through the memo or DUP: may appear more than once
  // Global: its registry entry. Any other node: the entry whose REDUCE made it (a BUILD on the
  // node goes there), or nullptr.
  const PickleGlobal* global = nullptr;
  DTypeSpec dtype;
  std::int64_t integer = 0;
  double real = 0.0;
  std::string text;        // Str (UTF-8), Latin1 (a Python 2 str's raw bytes), Bytes
  std::vector<Ref> items;  // List, Tuple; Dict: key, value, key, value ...
  std::unique_ptr<std::unordered_map<std::string, std::size_t>> dict_slots;  // key -> index in items
  std::unique_ptr<NDArray> array;
  std::unique_ptr<StorageView> storage;  // TorchStorage
  std::size_t offset = 0;  // where the opcode that made it starts
};

// Immutable values Python shares too; they cost no node per opcode.
constexpr Ref kNoneRef = 0, kFalseRef = 1, kTrueRef = 2, kEmptyTupleRef = 3;

class Machine;

// ---------------------------------------------------------------------------------------------
// The registry of globals (pickle_globals.cpp).

// One global a pickle may name, and how objects are reconstructed from it. NEWOBJ, NEWOBJ_EX,
// INST and OBJ are refused for every global: nothing listed here is pickled that way.
struct PickleGlobal {
  std::string_view module;
  std::string_view name;
  // REDUCE with this global as the callable: the object made from the argument tuple's items.
  // A node the call creates remembers this entry, so that a BUILD on it comes to `build`.
  // nullptr: the global cannot be called (a type that is only passed as an argument).
  Ref (*reduce)(Machine& m, const PickleGlobal& self, const std::vector<Ref>& args) = nullptr;
  // BUILD on an object `reduce` made: applies the state. nullptr: such objects take no BUILD.
  void (*build)(Machine& m, Ref inst, Ref state) = nullptr;
  // A torch storage type (what persistent ids name): the dtype of its elements.
  std::optional<DType> storage_dtype = std::nullopt;

  std::string qualified_name() const;  // "module.name"
};

// The entry for the global `qualified` ("module.name", as GLOBAL, INST and STACK_GLOBAL join
// them) that pickles read with `options` may name, or nullptr.
const PickleGlobal* find_pickle_global(std::string_view qualified, const PickleOptions& options);

// Why `qualified` is refused: names it and says what may be named instead.
std::string refused_global_message(std::string_view qualified, const PickleOptions& options);

// BINPERSID: the object a persistent id stands for. nullptr where `options` accept none.
using PersistentLoad = Ref (*)(Machine& m, Ref pid);
PersistentLoad persistent_loader(const PickleOptions& options);

// The modules' tables and hooks, in the order the registry consults them.
const std::vector<PickleGlobal>& numpy_pickle_globals();  // pickle_numpy.cpp
const std::vector<PickleGlobal>& bytes_pickle_globals();  // pickle_text.cpp
const std::vector<PickleGlobal>& torch_pickle_globals();  // pickle_torch.cpp
Ref torch_persistent_load(Machine& m, Ref pid);           // pickle_torch.cpp

// ---------------------------------------------------------------------------------------------
// Text (pickle_text.cpp)

// Python 2's repr() of a str, undone (codecs.escape_decode); false on a bad escape.
bool escape_decode(std::string_view s, std::string* out);
// Python's 'raw-unicode-escape' decoder: latin-1 bytes plus \uXXXX and \UXXXXXXXX escapes
// (only after an odd number of backslashes), as UTF-8; false on a bad escape.
bool raw_unicode_escape_decode(std::string_view s, std::string* out);
// A name from the input, safe to put in a message: printable ASCII, \xNN escapes, at most 200 bytes.
std::string printable(std::string_view s);
std::string hex_byte(unsigned char c);  // "0a"

// The name of a pickle opcode ("BINUNICODE"), or nullptr for a byte that is none (pickle_machine.cpp).
const char* opcode_name(std::uint8_t op);

// ---------------------------------------------------------------------------------------------
// The machine: its plumbing and arena in pickle_machine.cpp, its opcodes in pickle_vm.cpp. The
// opcodes are private; what the reconstructors need to read their arguments, make nodes and
// report errors is public.

class Machine {
 public:
  Machine(std::string_view data, const std::string& source, const PickleOptions& options);

  // Runs to STOP and hands out the tree, or throws Error(Data) naming the source and the offset.
  PickleValue run();
  std::size_t end() const { return pos_; }  // just past STOP, after run()
  // Storage ids are recorded here instead of resolved, and tensors become None.
  void collect_storages(std::vector<TorchStorageRef>* out) { collected_ = out; }

  // ----- for the reconstructors
  const PickleOptions& options() const { return options_; }
  std::vector<TorchStorageRef>* collected_storages() const { return collected_; }
  // Storage bytes fetched so far justify as much array data as input bytes do.
  void count_storage_bytes(std::size_t n) { storage_bytes_ += n; }

  // Error(Data) at the current opcode.
  [[noreturn]] void fail(const std::string& what) const { fail_at(op_start_, what); }

  const Node& node(Ref r) const { return nodes_[r]; }
  Node& node(Ref r) { return nodes_[r]; }
  Ref add(Node n);
  Ref add_kind(Kind k);
  Ref add_text(Kind k, std::string s);
  Ref add_seq(Kind k, std::vector<Ref> items);

  // The type of a node as Python would name it, for messages.
  std::string what(Ref r) const;
  bool is_text(Ref r) const { return nodes_[r].kind == Kind::Str || nodes_[r].kind == Kind::Latin1; }
  // Text as Python 3 sees it with encoding='latin-1'.
  std::string text_of(Ref r) const;
  // Raw bytes of bytes, bytearray or a Python 2 str.
  bool is_raw(Ref r) const { return nodes_[r].kind == Kind::Bytes || nodes_[r].kind == Kind::Latin1; }

  // Arguments of a given type, or an error naming their `role`.
  std::string text_arg(Ref r, const std::string& role) const;
  const std::vector<Ref>& tuple_items(Ref r, const std::string& role) const;
  std::int64_t int_of(Ref r, const std::string& role) const;
  std::vector<std::int64_t> shape_of(Ref r) const;  // a tuple of non-negative ints
  // Bytes, a Python 2 str, or a str of latin-1 characters (as numpy encodes one). Points into
  // the node (valid until the next node is added); a str is converted into *scratch.
  std::string_view raw_bytes_of(Ref r, const std::string& role, std::string* scratch) const;

 private:
  [[noreturn]] void fail_at(std::size_t offset, const std::string& what) const;

  // ----- input
  std::size_t left() const { return data_.size() - pos_; }
  std::string_view take(std::uint64_t n);
  std::uint64_t read_le(int bytes);
  std::size_t read_length(int bytes, bool is_signed = false);
  std::string_view line();

  // ----- the stack, the memo and plain values
  std::size_t base() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(Ref r) { stack_.push_back(r); }
  Ref pop();
  Ref top() const;
  std::vector<Ref> pop_mark();
  void memo_put(std::uint64_t index) { memo_[index] = top(); }
  void memo_get(std::uint64_t index);
  std::uint64_t memo_index_text();
  Ref add_int(std::int64_t v);
  Ref add_float(double v);
  Ref make_tuple(std::vector<Ref> items) { return add_seq(Kind::Tuple, std::move(items)); }

  // ----- the opcodes (pickle_vm.cpp)
  void step();
  void pop_any();
  void dup();
  void push_int_text(bool long_form);
  void push_float_text();
  void push_binfloat();
  void push_string_opcode();
  void push_unicode_text();
  void push_unicode(std::string_view utf8);
  void push_long(std::string_view le_bytes);
  void push_tuple_of(std::size_t n);
  void append_one();
  void append_marked();
  void append_to(Ref list, const std::vector<Ref>& items);
  void push_dict_marked();
  void set_item();
  void set_items_marked();
  void set_items(Ref dict, const std::vector<Ref>& kv);
  std::string hash_key(Ref key, int depth) const;
  void push_global_text();
  void push_stack_global();
  void push_global(std::string_view module, std::string_view name);
  [[noreturn]] void refuse_inst();
  [[noreturn]] void refuse_obj();
  void reduce_top();
  void build_top();
  void persistent_id();
  void check_protocol();

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
  std::size_t out_text_bytes_ = 0;
};

}  // namespace mvtag::pickle_internal
