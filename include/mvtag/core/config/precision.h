// The arithmetic precision inference runs at (`--precision`, inference.json "precision").
//
//   fp32: everything in float32 (the default, and the only precision training uses).
//   int8: dynamic int8 quantisation of ERNIE's linear layers and the frame branches' input
//         projections (weights int8 per output channel, activations quantised per batch);
//         CPU only. Everything else stays float32.
//   bf16: ERNIE in bfloat16 (its output cast back to float32); the rest float32.
//
// The weights in a model directory are always float32: the precision is applied when a model
// is loaded (model/precision.h), so it can be changed without re-exporting.
#pragma once

#include <optional>
#include <string>

namespace mvtag {

enum class Precision { Fp32, Int8, Bf16 };

// "fp32", "int8" or "bf16"; nullopt for anything else (callers name the flag or key at fault).
std::optional<Precision> parse_precision(const std::string& text);
std::string to_string(Precision precision);
// "fp32, int8 or bf16": for messages.
const char* precision_choices();

}  // namespace mvtag
