// Helpers shared by the pickle reader's tests: the fixtures numpy and Python wrote
// (tests/fixtures/pickle, see tools/make_pickle_fixtures.py) with their manifest of expected
// facts, expected errors, and lookups in decoded value trees.
#pragma once

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/formats/pickle.h"
#include "test_util.h"

namespace mvtag::test::pickle {

inline const std::string kDir = std::string(MVTAG_FIXTURES) + "/pickle/";
inline const char* const kPwned = "/tmp/mvtag_pwned";  // what the malicious fixtures would create

inline nlohmann::json manifest() { return nlohmann::json::parse(read_file(kDir + "manifest.json")); }

// The Error that parsing `data` throws (fails the test if none is thrown).
inline Error parse_error(const std::string& data, const std::string& source = "test.pkl") {
  SCOPED_TRACE(source);
  return thrown_error([&] { parse_pickle(data, source); });
}

inline Error load_error(const std::string& name) {
  SCOPED_TRACE(name);
  return thrown_error([&] { load_pickle(kDir + name); });
}

inline std::vector<double> as_doubles(const NDArray& a) {
  const std::vector<float> f = a.to_float();
  return std::vector<double>(f.begin(), f.end());
}

inline const PickleValue& at(const PickleValue& dict, const std::string& key) {
  const PickleValue* v = dict.find(key);
  if (v == nullptr) throw std::runtime_error("missing key " + key);
  return *v;
}

inline const PickleValue* find_key(const PickleValue& dict, const PickleValue& key) {
  for (const auto& [k, v] : dict.entries) {
    if (k == key) return &v;
  }
  return nullptr;
}

// The .pkl fixtures, sorted by name.
inline std::vector<std::string> fixture_files() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(kDir)) {
    if (e.path().extension() == ".pkl") names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace mvtag::test::pickle
