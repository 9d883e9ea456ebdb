#include "mvtag/core/base/json_fields.h"

#include <nlohmann/json.hpp>

#include "mvtag/core/base/io.h"
#include "mvtag/core/base/limits.h"

namespace mvtag {

using nlohmann::json;

Location at_key(const std::string& source, const std::string& key) {
  Location where = at_file(source);
  where.key = key;
  return where;
}

void check_json_depth(int depth, const std::string& source) {
  if (depth > limits::kMaxJsonDepth) {
    throw_error(ErrorKind::Config,
                "nested deeper than " + std::to_string(limits::kMaxJsonDepth) + " levels (kMaxJsonDepth)",
                at_file(source));
  }
}

json read_json_file(const std::string& path) {
  const std::string text = read_file(path, limits::kMaxConfigFileBytes, "kMaxConfigFileBytes");
  const auto depth_check = [&](int depth, json::parse_event_t event, json&) {
    if (event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) {
      check_json_depth(depth + 1, path);
    }
    return true;
  };
  try {
    return json::parse(text, depth_check);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number like 1e400
    throw_error(ErrorKind::Config, std::string("not valid JSON: ") + e.what(), at_file(path));
  }
}

void check_positive(std::int64_t value, const std::string& key, const std::string& source) {
  if (value <= 0) throw_error(ErrorKind::Config, "must be positive, got " + std::to_string(value), at_key(source, key));
}

void check_probability(double value, const std::string& key, const std::string& source) {
  if (!(value >= 0.0 && value < 1.0)) {
    throw_error(ErrorKind::Config, "must be in [0, 1), got " + std::to_string(value), at_key(source, key));
  }
}

JsonFields::JsonFields(const json& j, std::string source) : j_(j), source_(std::move(source)) {
  if (!j_.is_object()) {
    throw_error(ErrorKind::Config, "expected a JSON object, got " + std::string(j_.type_name()), at_file(source_));
  }
}

bool JsonFields::has(const std::string& key) const { return j_.contains(key); }

const json& JsonFields::at(const std::string& key) {
  if (!j_.contains(key)) throw_error(ErrorKind::Config, "missing required key", at_key(source_, key));
  seen_.insert(key);
  return j_.at(key);
}

std::int64_t JsonFields::get_int(const std::string& key) {
  const json& v = at(key);
  if (!v.is_number_integer()) bad_value(key, "an integer", v);
  return v.get<std::int64_t>();
}

double JsonFields::get_double(const std::string& key) {
  const json& v = at(key);
  if (!v.is_number()) bad_value(key, "a number", v);
  return v.get<double>();
}

std::string JsonFields::get_string(const std::string& key) {
  const json& v = at(key);
  if (!v.is_string()) bad_value(key, "a string", v);
  return v.get<std::string>();
}

bool JsonFields::get_bool(const std::string& key) {
  const json& v = at(key);
  if (!v.is_boolean()) bad_value(key, "true or false", v);
  return v.get<bool>();
}

void JsonFields::reject_unknown() const {
  for (const auto& item : j_.items()) {
    if (!seen_.count(item.key())) throw_error(ErrorKind::Config, "unknown key", at_key(source_, item.key()));
  }
}

void JsonFields::bad_value(const std::string& key, const std::string& expected, const json& value) const {
  throw_error(ErrorKind::Config, "expected " + expected + ", got " + value.dump(), at_key(source_, key));
}

}  // namespace mvtag
