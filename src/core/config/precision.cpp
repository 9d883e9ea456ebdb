#include "mvtag/core/config/precision.h"

namespace mvtag {

std::optional<Precision> parse_precision(const std::string& text) {
  if (text == "fp32") return Precision::Fp32;
  if (text == "int8") return Precision::Int8;
  if (text == "bf16") return Precision::Bf16;
  return std::nullopt;
}

std::string to_string(Precision precision) {
  switch (precision) {
    case Precision::Int8:
      return "int8";
    case Precision::Bf16:
      return "bf16";
    case Precision::Fp32:
      break;
  }
  return "fp32";
}

const char* precision_choices() { return "fp32, int8 or bf16"; }

}  // namespace mvtag
