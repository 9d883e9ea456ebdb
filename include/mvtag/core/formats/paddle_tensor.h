// Paddle's LoDTensor file format: the parameter files of the original (fluid save_vars /
// save_inference_model). A single-parameter file holds one tensor record; a combined file
// (save_vars(filename="param"), an inference model's params) holds records back to back, in
// sorted-name order, with no names stored. One record, all little-endian:
//   uint32 version (0) | uint64 lod_level | per level: uint64 byte count + that many bytes of
//   uint64 offsets | uint32 tensor version (0) | int32 desc length | TensorDesc protobuf
//   (field 1 data_type enum, field 2 dims int64) | raw row-major data.
// See docs/FORMATS.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mvtag/core/formats/ndarray.h"

namespace mvtag {

// framework.proto VarType.Type code of a dtype (FP32 = 5, INT64 = 3, ...).
int paddle_type_code(DType dtype);
// The dtype of a VarType.Type code; false for codes we do not read (SIZE_T, complex, ...).
bool dtype_from_paddle_type(std::int64_t code, DType* out);
// "FP32", "INT64", ... for the codes framework.proto names as data types; "?" otherwise.
const char* paddle_type_name(std::int64_t code);

using PaddleLoD = std::vector<std::vector<std::uint64_t>>;

struct PaddleTensor {
  NDArray array;
  PaddleLoD lod;             // level-of-detail offsets; empty for parameters
  std::size_t index = 0;     // 0-based position in the file
  std::uint64_t offset = 0;  // byte offset of the record in the file
};

// Reads records one at a time, straight from the file into each NDArray. Every error is
// Error(Data) naming the file, and "tensor #<index> at byte <offset>: ..." in the message.
// Sizes are checked against the bytes left before anything is allocated.
class PaddleTensorReader {
 public:
  explicit PaddleTensorReader(const std::string& path);  // Error(Io) if it cannot be opened
  // Reads records held in memory; name_for_errors stands for the file in messages.
  static PaddleTensorReader from_bytes(std::string bytes, std::string name_for_errors);
  ~PaddleTensorReader();
  PaddleTensorReader(PaddleTensorReader&&) noexcept;
  PaddleTensorReader& operator=(PaddleTensorReader&&) noexcept;

  bool at_end() const;
  // The next record. tensor_name, when the caller knows it, is added to error locations.
  PaddleTensor next(const std::string& tensor_name = "");

  const std::string& file() const;
  std::uint64_t offset() const;  // bytes consumed so far
  std::uint64_t size() const;    // total bytes
  std::size_t count() const;     // records read so far

 private:
  struct Impl;
  explicit PaddleTensorReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A single-parameter file: exactly one record (trailing bytes are an error).
NDArray read_paddle_tensor(const std::string& path);
// A combined file: every record until the end of the file, in order.
std::vector<NDArray> read_paddle_combined(const std::string& path);

// Appends one record (version 0, dims unpacked as Paddle writes them). Throws Error(Runtime)
// if the array's byte size does not match dtype x shape or a dimension is negative.
void append_paddle_tensor(std::string& out, const NDArray& array, const PaddleLoD& lod = {});
// Atomic writes (temp file + rename).
void write_paddle_tensor(const std::string& path, const NDArray& array);
void write_paddle_combined(const std::string& path, const std::vector<NDArray>& arrays);

}  // namespace mvtag
