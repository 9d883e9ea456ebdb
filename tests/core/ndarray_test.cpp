#include <cmath>
#include <cstring>

#include <gtest/gtest.h>

#include "mvtag/core/base/error.h"
#include "mvtag/core/formats/ndarray.h"

using namespace mvtag;

TEST(NDArray, HalfKnownValues) {
  EXPECT_EQ(half_to_float(0x3c00), 1.0f);
  EXPECT_EQ(half_to_float(0xc000), -2.0f);
  EXPECT_EQ(half_to_float(0x7bff), 65504.0f);
  EXPECT_EQ(half_to_float(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_TRUE(std::isinf(half_to_float(0x7c00)));
  EXPECT_TRUE(std::isnan(half_to_float(0x7e00)));
  EXPECT_EQ(float_to_half(1.0f), 0x3c00);
  EXPECT_EQ(float_to_half(65520.0f), 0x7c00);            // rounds up to infinity
  EXPECT_EQ(float_to_half(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie -> even
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -25)), 0x0000);         // tie -> even (zero)
  EXPECT_EQ(float_to_half(std::ldexp(3.0f, -26)), 0x0001);
}

TEST(NDArray, EveryFiniteHalfRoundTrips) {
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const float f = half_to_float(static_cast<std::uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(float_to_half(f), h) << std::hex << h;
  }
}

TEST(NDArray, ToFloatConvertsEachDtype) {
  NDArray a;
  a.dtype = DType::F64;
  a.shape = {2};
  const double d[2] = {1.5, -2.25};
  a.data.resize(16);
  std::memcpy(a.data.data(), d, 16);
  EXPECT_EQ(a.to_float(), (std::vector<float>{1.5f, -2.25f}));

  a.dtype = DType::I64;
  const std::int64_t i[2] = {7, -3};
  std::memcpy(a.data.data(), i, 16);
  EXPECT_EQ(a.to_float(), (std::vector<float>{7.0f, -3.0f}));

  a.dtype = DType::BF16;
  a.data = {0x80, 0x3f, 0x00, 0xc0};  // 1.0, -2.0
  EXPECT_EQ(a.to_float(), (std::vector<float>{1.0f, -2.0f}));

  a.data.pop_back();
  EXPECT_THROW(a.to_float(), Error);
}

TEST(NDArray, CheckedNbytesRejectsNegativeAndOverflow) {
  std::uint64_t n = 1;
  EXPECT_TRUE(checked_nbytes(DType::F32, {3, 4}, &n));
  EXPECT_EQ(n, 48u);
  EXPECT_TRUE(checked_nbytes(DType::F32, {0, 1LL << 62}, &n));
  EXPECT_EQ(n, 0u);
  EXPECT_FALSE(checked_nbytes(DType::F32, {-1, 4}, &n));
  EXPECT_FALSE(checked_nbytes(DType::F64, {1LL << 31, 1LL << 31}, &n));
  EXPECT_EQ(shape_string({3, 2048}), "[3, 2048]");
}
