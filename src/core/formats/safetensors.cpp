#include "mvtag/core/formats/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/base/limits.h"

namespace mvtag {

namespace {

using json = nlohmann::json;

constexpr const char* kMetadataKey = "__metadata__";
constexpr std::uint64_t kPrefixSize = 8;

const DType kAllDTypes[] = {DType::Bool, DType::U8,  DType::I8,   DType::I16, DType::I32,
                            DType::I64,  DType::F16, DType::BF16, DType::F32, DType::F64};

// One tensor as the header describes it; the bytes are [begin, end) of the data buffer.
struct Entry {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

struct Header {
  std::vector<Entry> entries;  // sorted by offset
  std::map<std::string, std::string> metadata;
};

[[noreturn]] void fail(const std::string& file, const std::string& message,
                       const std::string& tensor = "") {
  Location where = at_file(file);
  where.tensor = tensor;
  throw_error(ErrorKind::Data, message, where);
}

bool parse_dtype(const std::string& name, DType* out) {
  for (DType d : kAllDTypes) {
    if (name == safetensors_dtype_name(d)) {
      *out = d;
      return true;
    }
  }
  return false;
}

std::uint64_t read_u64_le(const char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void append_u64_le(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xffu));
}

// nlohmann keeps the last of duplicate keys silently; a duplicated tensor name must be an error.
json parse_json_rejecting_duplicates(const std::string& text, const std::string& file) {
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth + 1 > limits::kMaxJsonDepth) {
      fail(file, "header nested deeper than " + std::to_string(limits::kMaxJsonDepth) + " levels (kMaxJsonDepth)");
    }
    if (event == json::parse_event_t::object_start) {
      open_objects.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      open_objects.pop_back();
    } else if (event == json::parse_event_t::key && duplicate.empty()) {
      const std::string key = parsed.get<std::string>();
      if (!open_objects.back().insert(key).second) duplicate = key;
    }
    return true;
  };
  json header;
  try {
    header = json::parse(text, callback);
  } catch (const json::exception& e) {
    fail(file, std::string("header is not valid JSON: ") + e.what());
  }
  if (!duplicate.empty()) fail(file, "header has the key '" + duplicate + "' more than once");
  return header;
}

std::uint64_t as_u64(const json& v, const std::string& what, const std::string& file,
                     const std::string& tensor) {
  if (!v.is_number_unsigned()) {
    fail(file, what + " must hold non-negative integers, got " + v.dump(), tensor);
  }
  return v.get<std::uint64_t>();
}

Entry parse_entry(const std::string& name, const json& value, std::uint64_t buffer_size,
                  const std::string& file) {
  if (name.empty()) fail(file, "header has a tensor with an empty name");
  if (!value.is_object()) fail(file, "entry must be an object, got " + value.dump(), name);
  Entry e;
  e.name = name;

  const auto dtype = value.find("dtype");
  if (dtype == value.end() || !dtype->is_string()) fail(file, "missing string \"dtype\"", name);
  if (!parse_dtype(dtype->get<std::string>(), &e.dtype)) {
    fail(file,
         "unsupported dtype " + dtype->dump() +
             " (expected F32, F16, BF16, F64, I64, I32, I16, I8, U8 or BOOL)",
         name);
  }

  const auto shape = value.find("shape");
  if (shape == value.end() || !shape->is_array()) fail(file, "missing array \"shape\"", name);
  for (const json& d : *shape) {
    const std::uint64_t dim = as_u64(d, "\"shape\"", file, name);
    if (dim > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      fail(file, "dimension " + std::to_string(dim) + " is too large", name);
    }
    e.shape.push_back(static_cast<std::int64_t>(dim));
  }

  const auto offsets = value.find("data_offsets");
  if (offsets == value.end() || !offsets->is_array() || offsets->size() != 2) {
    fail(file, "missing \"data_offsets\" [begin, end]", name);
  }
  e.begin = as_u64((*offsets)[0], "\"data_offsets\"", file, name);
  e.end = as_u64((*offsets)[1], "\"data_offsets\"", file, name);
  const std::string range =
      "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "]";
  if (e.begin > e.end) fail(file, range + " end before they begin", name);
  if (e.end > buffer_size) {
    fail(file, range + " go beyond the data buffer of " + std::to_string(buffer_size) + " bytes",
         name);
  }
  std::uint64_t expected = 0;
  const std::string problem = tensor_size_problem(e.dtype, e.shape, &expected);
  if (!problem.empty()) fail(file, problem, name);
  if (e.end - e.begin != expected) {
    fail(file,
         range + " hold " + std::to_string(e.end - e.begin) + " bytes, but dtype " +
             dtype->get<std::string>() + " and shape " + shape_string(e.shape) + " need " +
             std::to_string(expected),
         name);
  }
  return e;
}

std::map<std::string, std::string> parse_metadata(const json& value, const std::string& file) {
  if (!value.is_object()) fail(file, "\"__metadata__\" must be an object, got " + value.dump());
  std::map<std::string, std::string> metadata;
  for (const auto& [key, v] : value.items()) {
    if (!v.is_string()) {
      Location where = at_file(file);
      where.key = std::string(kMetadataKey) + "." + key;
      throw_error(ErrorKind::Data, "metadata values must be strings, got " + v.dump(), where);
    }
    metadata[key] = v.get<std::string>();
  }
  return metadata;
}

// The format requires the tensors to tile the buffer: no overlaps, no holes, no trailing bytes.
void check_tiling(const std::vector<Entry>& sorted, std::uint64_t buffer_size,
                  const std::string& file) {
  std::uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : sorted) {
    if (e.begin < covered) {
      fail(file, "data_offsets overlap those of tensor '" + previous->name + "'", e.name);
    }
    if (e.begin > covered) {
      fail(file,
           "bytes " + std::to_string(covered) + ".." + std::to_string(e.begin) +
               " of the data buffer belong to no tensor",
           e.name);
    }
    covered = e.end;
    previous = &e;
  }
  if (covered != buffer_size) {
    fail(file, "the data buffer has " + std::to_string(buffer_size) +
                   " bytes but the tensors use " + std::to_string(covered));
  }
}

Header parse_header(const std::string& text, std::uint64_t buffer_size, const std::string& file) {
  if (text.empty() || text[0] != '{') fail(file, "header does not start with '{'");
  const json root = parse_json_rejecting_duplicates(text, file);
  if (!root.is_object()) fail(file, "header must be a JSON object");
  if (root.size() > limits::kMaxTensorsPerFile) {
    fail(file, "header lists " + std::to_string(root.size()) + " entries, above the limit of " +
                   std::to_string(limits::kMaxTensorsPerFile) + " tensors per file (kMaxTensorsPerFile)");
  }
  Header h;
  for (const auto& [key, value] : root.items()) {
    if (key == kMetadataKey) {
      h.metadata = parse_metadata(value, file);
    } else {
      h.entries.push_back(parse_entry(key, value, buffer_size, file));
    }
  }
  std::stable_sort(h.entries.begin(), h.entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  check_tiling(h.entries, buffer_size, file);
  return h;
}

// Header length N from the 8-byte prefix, checked against the file size.
std::uint64_t header_length(const char* prefix, std::uint64_t file_size, const std::string& file) {
  const std::uint64_t n = read_u64_le(prefix);
  if (n > limits::kMaxSafetensorsHeaderBytes) {
    fail(file, "header length " + std::to_string(n) + " is above the limit of " +
                   std::to_string(limits::kMaxSafetensorsHeaderBytes) + " bytes (kMaxSafetensorsHeaderBytes)");
  }
  if (n > file_size - kPrefixSize) {
    fail(file, "header length " + std::to_string(n) + " goes beyond the end of the file (" +
                   std::to_string(file_size) + " bytes)");
  }
  return n;
}

void check_file_size(std::uint64_t size, const std::string& file) {
  if (size < kPrefixSize) {
    fail(file, "file of " + std::to_string(size) +
                   " bytes is too short for a safetensors header (8-byte length first)");
  }
}

NamedArray make_array(const Entry& e) {
  NamedArray out;
  out.name = e.name;
  out.array.dtype = e.dtype;
  out.array.shape = e.shape;
  out.array.data.resize(e.end - e.begin);
  return out;
}

void check_writable(const NamedArray& t, std::set<std::string>& seen) {
  Location where;
  where.tensor = t.name;
  if (t.name.empty()) throw_error(ErrorKind::Runtime, "safetensors: empty tensor name");
  if (t.name == kMetadataKey) throw_error(ErrorKind::Runtime, "reserved tensor name", where);
  if (!seen.insert(t.name).second) throw_error(ErrorKind::Runtime, "duplicate tensor name", where);
  for (std::int64_t d : t.array.shape) {
    if (d < 0)
      throw_error(ErrorKind::Runtime, "negative dimension in " + shape_string(t.array.shape),
                  where);
  }
  std::uint64_t expected = 0;
  if (!checked_nbytes(t.array.dtype, t.array.shape, &expected)) {
    throw_error(ErrorKind::Runtime, "shape " + shape_string(t.array.shape) + " is too large",
                where);
  }
  if (t.array.data.size() != expected) {
    throw_error(ErrorKind::Runtime,
                "holds " + std::to_string(t.array.data.size()) + " bytes, but " +
                    dtype_name(t.array.dtype) + " " + shape_string(t.array.shape) + " needs " +
                    std::to_string(expected),
                where);
  }
}

std::string header_text(const std::vector<NamedArray>& tensors,
                        const std::map<std::string, std::string>& metadata) {
  // ordered_json keeps the header in storage order, which makes files easy to read by eye.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  std::set<std::string> seen;
  std::uint64_t offset = 0;
  for (const NamedArray& t : tensors) {
    check_writable(t, seen);
    const std::uint64_t end = offset + t.array.data.size();
    header[t.name] = {{"dtype", safetensors_dtype_name(t.array.dtype)},
                      {"shape", t.array.shape},
                      {"data_offsets", {offset, end}}};
    offset = end;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::ordered_json::exception& e) {
    throw_error(ErrorKind::Runtime, std::string("safetensors: a tensor name or metadata string is "
                                                "not valid UTF-8: ") +
                                        e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

}  // namespace

const char* safetensors_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Bool: return "BOOL";
    case DType::U8: return "U8";
    case DType::I8: return "I8";
    case DType::I16: return "I16";
    case DType::I32: return "I32";
    case DType::I64: return "I64";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::F32: return "F32";
    case DType::F64: return "F64";
  }
  return "?";
}

const NDArray* SafetensorsFile::find(const std::string& name) const {
  for (const NamedArray& t : tensors) {
    if (t.name == name) return &t.array;
  }
  return nullptr;
}

SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& name_for_errors) {
  check_file_size(bytes.size(), name_for_errors);
  const std::uint64_t n = header_length(bytes.data(), bytes.size(), name_for_errors);
  const std::uint64_t data_start = kPrefixSize + n;
  Header h = parse_header(bytes.substr(kPrefixSize, n), bytes.size() - data_start, name_for_errors);
  SafetensorsFile out;
  out.metadata = std::move(h.metadata);
  for (const Entry& e : h.entries) {
    out.tensors.push_back(make_array(e));
    if (e.end > e.begin) {
      std::memcpy(out.tensors.back().array.data.data(), bytes.data() + data_start + e.begin,
                  e.end - e.begin);
    }
  }
  return out;
}

SafetensorsFile read_safetensors(const std::string& path) {
  if (is_directory(path))
    throw_error(ErrorKind::Io, "is a directory, expected a file", at_file(path));
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in)
    throw_error(ErrorKind::Io, "cannot open for reading: " + std::string(std::strerror(errno)),
                at_file(path));
  const auto size = static_cast<std::uint64_t>(in.tellg());
  check_file_size(size, path);
  in.seekg(0);
  char prefix[kPrefixSize];
  in.read(prefix, kPrefixSize);
  const std::uint64_t n = header_length(prefix, size, path);
  std::string text(n, '\0');
  in.read(text.data(), static_cast<std::streamsize>(n));
  if (!in) throw_error(ErrorKind::Io, "read failed in the header", at_file(path));
  Header h = parse_header(text, size - kPrefixSize - n, path);

  // The tensors tile the buffer in offset order, so one sequential pass reads them all.
  SafetensorsFile out;
  out.metadata = std::move(h.metadata);
  out.tensors.reserve(h.entries.size());
  for (const Entry& e : h.entries) {
    out.tensors.push_back(make_array(e));
    std::vector<std::uint8_t>& data = out.tensors.back().array.data;
    in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(data.size()));
    if (!in) {
      Location where = at_file(path);
      where.tensor = e.name;
      throw_error(ErrorKind::Io, "read failed (file changed while reading?)", where);
    }
  }
  return out;
}

std::string safetensors_bytes(const std::vector<NamedArray>& tensors,
                              const std::map<std::string, std::string>& metadata) {
  const std::string header = header_text(tensors, metadata);
  std::size_t total = kPrefixSize + header.size();
  for (const NamedArray& t : tensors) total += t.array.data.size();
  std::string out;
  out.reserve(total);
  append_u64_le(out, header.size());
  out += header;
  for (const NamedArray& t : tensors) {
    out.append(reinterpret_cast<const char*>(t.array.data.data()), t.array.data.size());
  }
  return out;
}

void write_safetensors(const std::string& path, const std::vector<NamedArray>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::string header = header_text(tensors, metadata);
  std::string prefix;
  append_u64_le(prefix, header.size());
  AtomicFile file(path);
  file.write(prefix.data(), prefix.size());
  file.write(header.data(), header.size());
  for (const NamedArray& t : tensors) file.write(t.array.data.data(), t.array.data.size());
  file.commit();
}

}  // namespace mvtag
