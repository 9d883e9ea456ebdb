#include "precision_option.h"

#include "mvtag/core/base/error.h"

namespace mvtag::cli {

namespace {
constexpr const char* kChoices =
    "  fp32  float32 throughout (the default; what training computes)\n"
    "  int8  dynamic int8 quantisation of ERNIE's linear layers and the image/audio input\n"
    "        projections (weights per channel, activations per batch); CPU only. Their\n"
    "        matrix products run about 1.8x faster (ERNIE-base sizes, oneDNN); probabilities\n"
    "        move by up to a few 1e-2 (docs/PERFORMANCE.md, \"Reduced precision\")\n"
    "  bf16  ERNIE in bfloat16, the rest float32. Fast on GPUs and CPUs with AVX512-BF16 or\n"
    "        AMX, slower than fp32 elsewhere; probabilities move by up to a few 1e-2";
}  // namespace

void add_precision_option(CLI::App& verb, std::string& value, bool for_export) {
  const std::string help =
      for_export ? std::string("Precision to store in the model's inference.json, used by infer, eval and serve\n"
                               "unless they give --precision (the weights stay float32):\n") +
                       kChoices
                 : std::string("Arithmetic precision of the network:\n") + kChoices +
                       "\nDefault: the model's inference.json (`export --precision`), else fp32";
  verb.add_option("--precision", value, help)->type_name("fp32|int8|bf16")->group("Run");
}

std::optional<Precision> parse_precision_flag(const std::string& value) {
  if (value.empty()) return std::nullopt;
  const auto parsed = parse_precision(value);
  if (!parsed) {
    throw_error(ErrorKind::Usage,
                "--precision: unknown value '" + value + "' (expected " + precision_choices() + ")");
  }
  return parsed;
}

}  // namespace mvtag::cli
