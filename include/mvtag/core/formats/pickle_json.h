// A pickle's value tree as JSON for people to read (what `mvtag inspect` prints). Every value
// has a JSON form, so this never fails:
//   None, bool, int, str        -> null, true/false, the number, the string; a str longer than
//                                  256 bytes -> {"str_length": bytes, "prefix": the first 64
//                                  bytes, cut back to a character boundary}
//   float                       -> the number; NaN and the infinities -> "nan", "inf", "-inf"
//   bytes                       -> {"bytes": length}, plus "hex" (lowercase) when at most 32 bytes
//   list, tuple                 -> an array
//   dict                        -> an object in insertion order; a str key as itself, others
//                                  roughly as Python prints them: 1, True, None, 1.5, b'k', (1, 2);
//                                  keys that print alike keep the first one's place, the last value
//   ndarray                     -> {"dtype": "float32", "shape": [..]}, plus "values": the first
//                                  max_values elements in C order when max_values > 0
#pragma once

#include <cstddef>

#include <nlohmann/json.hpp>

#include "mvtag/core/formats/pickle.h"

namespace mvtag {

// Ordered: objects keep the pickle's (and the caller's) key order.
nlohmann::ordered_json pickle_to_json(const PickleValue& value, std::size_t max_values = 0);

}  // namespace mvtag
