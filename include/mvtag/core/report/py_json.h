// JSON text exactly as Python's json.dump(obj, ensure_ascii=False, indent=4) writes it, which is
// what the original's inference.py produced: insertion-ordered keys, 4-space indentation,
// raw UTF-8, and floats in Python's repr (shortest round-trip digits, "1.0", "1e-05").
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace mvtag {

// Python's repr() of a double.
std::string python_float_repr(double value);

// `indent` < 0 writes one line with Python's default separators (", " and ": ").
std::string python_json_dumps(const nlohmann::ordered_json& value, int indent = 4);

}  // namespace mvtag
