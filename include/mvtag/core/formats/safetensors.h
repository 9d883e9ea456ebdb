// The safetensors format (HuggingFace): our model and optimizer weight files.
// Layout: uint64 little-endian header length N, N bytes of UTF-8 JSON header
// {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {string: string}},
// then the byte buffer (offsets are relative to its start). See docs/FORMATS.md.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "mvtag/core/formats/ndarray.h"

namespace mvtag {

struct NamedArray {
  std::string name;
  NDArray array;
};

struct SafetensorsFile {
  std::vector<NamedArray> tensors;                     // in file (offset) order
  std::map<std::string, std::string> metadata;         // "__metadata__" (string -> string)
  const NDArray* find(const std::string& name) const;  // nullptr if absent
};

// Reads the header first, then each tensor straight from the file into its NDArray, so the
// file's bytes are held in memory once. Throws Error(Data) naming the file and tensor on any
// malformed or inconsistent header, Error(Io) if the file cannot be read.
SafetensorsFile read_safetensors(const std::string& path);

// Writes atomically (temp file + rename). Tensors are stored in the order given; the header
// is padded with spaces so the data buffer starts at a multiple of 8. Throws Error(Runtime)
// for duplicate or empty names and arrays whose byte size does not match dtype x shape.
void write_safetensors(const std::string& path, const std::vector<NamedArray>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// The bytes write_safetensors would write.
std::string safetensors_bytes(const std::vector<NamedArray>& tensors,
                              const std::map<std::string, std::string>& metadata = {});

// Parses a whole file held in memory; name_for_errors is used as the file in error messages.
SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& name_for_errors);

// The format's dtype name ("F32", "BF16", "BOOL", ...).
const char* safetensors_dtype_name(DType dtype);

}  // namespace mvtag
