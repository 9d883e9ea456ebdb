#include <cstring>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "mvtag/core/report/py_json.h"

using namespace mvtag;

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

TEST(PyJson, FloatReprMatchesPython) {
  const auto cases = nlohmann::json::parse(slurp(MVTAG_FIXTURES "/py_json/floats.json"));
  ASSERT_GT(cases.size(), 50u);
  for (const auto& c : cases) {
    const std::uint64_t bits = c["bits"];
    double v;
    std::memcpy(&v, &bits, sizeof v);
    EXPECT_EQ(python_float_repr(v), c["repr"].get<std::string>());
  }
}

TEST(PyJson, FloatReprHandWritten) {
  EXPECT_EQ(python_float_repr(1.0), "1.0");
  EXPECT_EQ(python_float_repr(-0.0), "-0.0");
  EXPECT_EQ(python_float_repr(1e-5), "1e-05");
  EXPECT_EQ(python_float_repr(0.0001), "0.0001");
  EXPECT_EQ(python_float_repr(1e16), "1e+16");
  EXPECT_EQ(python_float_repr(123.0), "123.0");
  EXPECT_EQ(python_float_repr(static_cast<double>(0.9134563f)), "0.9134563207626343");
}

TEST(PyJson, DumpMatchesPythonIndent4) {
  const auto input = nlohmann::ordered_json::parse(slurp(MVTAG_FIXTURES "/py_json/predictions.input.json"));
  EXPECT_EQ(python_json_dumps(input, 4), slurp(MVTAG_FIXTURES "/py_json/predictions.expected.json"));
}

TEST(PyJson, CompactFormUsesPythonSeparators) {
  nlohmann::ordered_json v = {{"b", 1}, {"a", {0.5, "x"}}};
  EXPECT_EQ(python_json_dumps(v, -1), R"({"b": 1, "a": [0.5, "x"]})");
}
