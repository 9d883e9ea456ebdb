#include "mvtag/core/formats/pickle_json.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

namespace mvtag {

namespace {

using Json = nlohmann::ordered_json;

constexpr std::size_t kMaxInlineText = 256;
constexpr std::size_t kMaxInlineBytes = 32;
constexpr std::size_t kTextPrefix = 64;

Json number_json(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  return d;
}

template <typename T>
T element(const NDArray& a, std::size_t i) {
  T v;
  std::memcpy(&v, a.data.data() + i * sizeof(T), sizeof(T));
  return v;
}

Json element_json(const NDArray& a, std::size_t i) {
  switch (a.dtype) {
    case DType::Bool: return a.data[i] != 0;
    case DType::U8: return element<std::uint8_t>(a, i);
    case DType::I8: return element<std::int8_t>(a, i);
    case DType::I16: return element<std::int16_t>(a, i);
    case DType::I32: return element<std::int32_t>(a, i);
    case DType::I64: return element<std::int64_t>(a, i);
    case DType::F16: return number_json(half_to_float(element<std::uint16_t>(a, i)));
    case DType::BF16: return number_json(bfloat16_to_float(element<std::uint16_t>(a, i)));
    case DType::F32: return number_json(element<float>(a, i));
    case DType::F64: return number_json(element<double>(a, i));
  }
  return nullptr;
}

Json array_json(const NDArray& a, std::size_t max_values) {
  Json j = {{"dtype", dtype_name(a.dtype)}, {"shape", a.shape}};
  if (max_values > 0) {
    Json values = Json::array();
    const auto n = std::min<std::size_t>(max_values, static_cast<std::size_t>(a.numel()));
    for (std::size_t i = 0; i < n; ++i) values.push_back(element_json(a, i));
    j["values"] = std::move(values);
  }
  return j;
}

// Cuts at a character boundary so the prefix stays valid UTF-8.
std::string utf8_prefix(const std::string& s, std::size_t max_bytes) {
  std::size_t n = std::min(max_bytes, s.size());
  while (n > 0 && n < s.size() && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

std::string hex(const std::string& raw) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// A dict key as JSON object key: str as itself, anything else roughly as Python prints it.
std::string key_text(const PickleValue& k) {
  using T = PickleValue::Type;
  switch (k.type) {
    case T::Str: return k.text;
    case T::Int: return std::to_string(k.integer);
    case T::Bool: return k.boolean ? "True" : "False";
    case T::None: return "None";
    case T::Float: return Json(k.real).dump();
    case T::Bytes: return "b'" + latin1_to_utf8(k.text) + "'";
    case T::Tuple: {
      std::string s = "(";
      for (std::size_t i = 0; i < k.items.size(); ++i) s += (i ? ", " : "") + key_text(k.items[i]);
      return s + (k.items.size() == 1 ? ",)" : ")");
    }
    default: return std::string("<") + pickle_type_name(k.type) + ">";
  }
}

}  // namespace

nlohmann::ordered_json pickle_to_json(const PickleValue& v, std::size_t max_values) {
  using T = PickleValue::Type;
  switch (v.type) {
    case T::None: return nullptr;
    case T::Bool: return v.boolean;
    case T::Int: return v.integer;
    case T::Float: return number_json(v.real);
    case T::Str:
      if (v.text.size() <= kMaxInlineText) return v.text;
      return {{"str_length", v.text.size()}, {"prefix", utf8_prefix(v.text, kTextPrefix)}};
    case T::Bytes: {
      Json j = {{"bytes", v.text.size()}};
      if (v.text.size() <= kMaxInlineBytes) j["hex"] = hex(v.text);
      return j;
    }
    case T::List:
    case T::Tuple: {
      Json j = Json::array();
      for (const auto& item : v.items) j.push_back(pickle_to_json(item, max_values));
      return j;
    }
    case T::Dict: {
      Json j = Json::object();
      for (const auto& [k, item] : v.entries) j[key_text(k)] = pickle_to_json(item, max_values);
      return j;
    }
    case T::Array: return array_json(v.array, max_values);
  }
  return nullptr;
}

}  // namespace mvtag
