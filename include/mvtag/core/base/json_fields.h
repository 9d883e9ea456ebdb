// Reading the keys of a JSON configuration object (model.json, ernie_config.json, config.json):
// required keys of one type each, and the common range checks of their values. Every error is
// Error(Config) naming the source and the key and saying what was expected.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "mvtag/core/base/error.h"

namespace mvtag {

// `source` and `key`: where a configuration error points.
Location at_key(const std::string& source, const std::string& key);

// The JSON document in the file `path`; a file that does not parse, is larger than
// limits::kMaxConfigFileBytes or nests deeper than limits::kMaxJsonDepth is an error naming it.
nlohmann::json read_json_file(const std::string& path);
// Throws Error(Config) naming `source` when `depth` is above limits::kMaxJsonDepth.
void check_json_depth(int depth, const std::string& source);

// Range checks of configuration values: the error names `source` and `key` and gives the value.
void check_positive(std::int64_t value, const std::string& key, const std::string& source);
// In [0, 1), as dropout probabilities must be.
void check_probability(double value, const std::string& key, const std::string& source);

class JsonFields {
 public:
  // Throws unless `j` is an object. `j` must outlive the reader.
  JsonFields(const nlohmann::json& j, std::string source);

  bool has(const std::string& key) const;
  // The value of a required key.
  const nlohmann::json& at(const std::string& key);
  void require(const std::string& key) { at(key); }
  std::int64_t get_int(const std::string& key);
  double get_double(const std::string& key);
  std::string get_string(const std::string& key);
  bool get_bool(const std::string& key);
  // Throws for the first key that at() and the getters were never asked for.
  void reject_unknown() const;

  // "expected <expected>, got <value as JSON>" for `key`.
  [[noreturn]] void bad_value(const std::string& key, const std::string& expected, const nlohmann::json& value) const;

 private:
  const nlohmann::json& j_;
  std::string source_;
  std::set<std::string> seen_;
};

}  // namespace mvtag
