#include "mvtag/core/formats/ndarray.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/limits.h"

namespace mvtag {

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::Bool:
    case DType::U8:
    case DType::I8: return 1;
    case DType::I16:
    case DType::F16:
    case DType::BF16: return 2;
    case DType::I32:
    case DType::F32: return 4;
    case DType::I64:
    case DType::F64: return 8;
  }
  return 0;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Bool: return "bool";
    case DType::U8: return "uint8";
    case DType::I8: return "int8";
    case DType::I16: return "int16";
    case DType::I32: return "int32";
    case DType::I64: return "int64";
    case DType::F16: return "float16";
    case DType::BF16: return "bfloat16";
    case DType::F32: return "float32";
    case DType::F64: return "float64";
  }
  return "?";
}

bool is_floating(DType dtype) {
  return dtype == DType::F16 || dtype == DType::BF16 || dtype == DType::F32 || dtype == DType::F64;
}

std::int64_t NDArray::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

namespace {
template <typename T>
void convert(const std::uint8_t* src, std::size_t n, float* dst) {
  for (std::size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, src + i * sizeof(T), sizeof(T));
    dst[i] = static_cast<float>(v);
  }
}
}  // namespace

std::vector<float> NDArray::to_float() const {
  const std::size_t n = static_cast<std::size_t>(numel());
  if (data.size() != n * dtype_size(dtype)) {
    throw_error(ErrorKind::Data, "array of shape " + shape_string(shape) + " and dtype " +
                                     dtype_name(dtype) + " holds " + std::to_string(data.size()) +
                                     " bytes, expected " + std::to_string(n * dtype_size(dtype)));
  }
  std::vector<float> out(n);
  const std::uint8_t* p = data.data();
  switch (dtype) {
    case DType::Bool:
    case DType::U8: convert<std::uint8_t>(p, n, out.data()); break;
    case DType::I8: convert<std::int8_t>(p, n, out.data()); break;
    case DType::I16: convert<std::int16_t>(p, n, out.data()); break;
    case DType::I32: convert<std::int32_t>(p, n, out.data()); break;
    case DType::I64: convert<std::int64_t>(p, n, out.data()); break;
    case DType::F32: convert<float>(p, n, out.data()); break;
    case DType::F64: convert<double>(p, n, out.data()); break;
    case DType::F16:
    case DType::BF16:
      for (std::size_t i = 0; i < n; ++i) {
        std::uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        out[i] = dtype == DType::F16 ? half_to_float(h) : bfloat16_to_float(h);
      }
      break;
  }
  return out;
}

NDArray NDArray::from_float(std::vector<std::int64_t> shape, const std::vector<float>& values) {
  NDArray a;
  a.dtype = DType::F32;
  a.shape = std::move(shape);
  if (static_cast<std::int64_t>(values.size()) != a.numel()) {
    throw_error(ErrorKind::Runtime, "NDArray::from_float: " + std::to_string(values.size()) +
                                        " values for shape " + shape_string(a.shape));
  }
  a.data.resize(values.size() * sizeof(float));
  if (!values.empty()) std::memcpy(a.data.data(), values.data(), a.data.size());
  return a;
}

std::string tensor_size_problem(DType dtype, const std::vector<std::int64_t>& shape, std::uint64_t* out) {
  std::uint64_t ignored = 0;
  std::uint64_t& n = out ? *out : ignored;
  n = 0;
  if (shape.size() > limits::kMaxTensorRank) {
    return "rank " + std::to_string(shape.size()) + " is above the limit of " + std::to_string(limits::kMaxTensorRank) +
           " dimensions (kMaxTensorRank)";
  }
  if (std::any_of(shape.begin(), shape.end(), [](std::int64_t d) { return d < 0; })) {
    return "shape " + shape_string(shape) + " has a negative dimension";
  }
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return "";
  std::uint64_t bytes = dtype_size(dtype);
  for (std::int64_t d : shape) {
    if (bytes > limits::kMaxTensorBytes / static_cast<std::uint64_t>(d)) {
      return std::string(dtype_name(dtype)) + " " + shape_string(shape) + " is above the limit of " +
             std::to_string(limits::kMaxTensorBytes) + " bytes per tensor (kMaxTensorBytes)";
    }
    bytes *= static_cast<std::uint64_t>(d);
  }
  n = bytes;
  return "";
}

bool checked_nbytes(DType dtype, const std::vector<std::int64_t>& shape, std::uint64_t* out) {
  return tensor_size_problem(dtype, shape, out).empty();
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1fu;
  std::uint32_t mant = h & 0x3ffu;
  std::uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ffu;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

std::uint16_t float_to_half(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  const std::uint16_t sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  const std::uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) {  // inf or nan
    return static_cast<std::uint16_t>(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0u));
  }
  if (absx >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // overflow
  if (absx < 0x38800000u) {  // subnormal or zero in half
    if (absx < 0x33000000u) return sign;
    const std::uint32_t e = absx >> 23;
    const std::uint32_t m = (absx & 0x7fffffu) | 0x800000u;
    // value = m * 2^(e-150) and a half subnormal is half_m * 2^-24, so half_m = m >> (126 - e).
    const std::uint32_t shift = 126 - e;
    std::uint32_t half_m = m >> shift;
    const std::uint32_t rem = m & ((1u << shift) - 1u);
    const std::uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (half_m & 1u))) ++half_m;
    return static_cast<std::uint16_t>(sign | half_m);
  }
  std::uint32_t h = ((absx >> 13) - (112u << 10));
  const std::uint32_t rem = absx & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
  return static_cast<std::uint16_t>(sign | h);
}

float bfloat16_to_float(std::uint16_t b) {
  const std::uint32_t bits = static_cast<std::uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace mvtag
