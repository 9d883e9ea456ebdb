// A plain n-dimensional array: dtype, shape and little-endian row-major bytes.
// The common currency of the core readers (pickle, safetensors, Paddle tensor files);
// conversion to torch::Tensor happens once, at the edge (loader, weight loader).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mvtag {

enum class DType { Bool, U8, I8, I16, I32, I64, F16, BF16, F32, F64 };

std::size_t dtype_size(DType dtype);
// numpy-style name: "bool", "uint8", "int8", "int16", "int32", "int64", "float16",
// "bfloat16", "float32", "float64".
const char* dtype_name(DType dtype);
bool is_floating(DType dtype);

struct NDArray {
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> data;  // numel() * dtype_size(dtype) bytes

  std::int64_t numel() const;
  std::size_t nbytes() const { return data.size(); }
  // The values converted to float32 (any numeric dtype).
  std::vector<float> to_float() const;
  // Builds a float32 array from values; values.size() must equal the product of shape.
  static NDArray from_float(std::vector<std::int64_t> shape, const std::vector<float>& values);
};

// Untrusted shapes from files are checked with these before anything is allocated.
// Why a dtype x shape array may not be read: "" when it may, else what is wrong (a negative
// dimension, a rank above limits::kMaxTensorRank, more bytes than limits::kMaxTensorBytes), as a
// phrase for an error message. *out (if given) receives the byte count ("" only).
std::string tensor_size_problem(DType dtype, const std::vector<std::int64_t>& shape, std::uint64_t* out = nullptr);
// The same as a bool: bytes of a dtype x shape array into *out; false when tensor_size_problem
// says why not.
bool checked_nbytes(DType dtype, const std::vector<std::int64_t>& shape, std::uint64_t* out);

// "[3, 2048]"
std::string shape_string(const std::vector<std::int64_t>& shape);

float half_to_float(std::uint16_t h);
std::uint16_t float_to_half(float f);  // round to nearest even
float bfloat16_to_float(std::uint16_t b);

}  // namespace mvtag
