// The value tree parse_pickle hands out (PickleValue) and the helpers every part of the pickle
// code shares: constructors, lookup, equality, type names and latin-1 text.
#include "mvtag/core/formats/pickle.h"

#include <utility>

#include "mvtag/core/text/utf8.h"

namespace mvtag {

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

}  // namespace mvtag
