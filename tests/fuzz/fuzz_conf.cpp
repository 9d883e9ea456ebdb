// conf.txt (configparser syntax, Python-literal values) and the Python-literal reader alone.
// The first line of the input is also tried as a --set override on the shipped-like minimal conf.
#include <cmath>
#include <string>

#include "fuzz_util.h"
#include "mvtag/core/config/config.h"
#include "mvtag/core/config/py_literal.h"

namespace {

// Python's repr() of inf and nan ('inf', 'nan') is not a literal either: eval() of it fails.
bool all_finite(const mvtag::PyValue& v) {
  if (v.kind == mvtag::PyValue::Kind::Float && !std::isfinite(v.real)) return false;
  for (const auto& item : v.items) {
    if (!all_finite(item)) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mvtag;
  fuzz::quiet_logs();
  const std::string text(fuzz::as_view(data, size));
  fuzz::expect_parse_or_error([&] {
    std::string why;
    const auto value = parse_py_literal(text, &why);
    if (value && all_finite(*value)) {
      // repr() must read back to the same value.
      const auto again = parse_py_literal(value->repr());
      if (!again || *again != *value) std::abort();
    }
  });
  fuzz::expect_parse_or_error([&] {
    const Config config = parse_config(text, "fuzz.conf");
    // dump_config() must read back to an equal configuration.
    if (parse_config(dump_config(config), "dump") != config) std::abort();
  });
  return 0;
}
