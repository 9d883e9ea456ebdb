#include "mvtag/core/formats/paddle_tensor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/base/limits.h"

namespace mvtag {

namespace {

constexpr std::uint32_t kLoDTensorVersion = 0;
constexpr std::uint32_t kTensorVersion = 0;

// framework.proto VarType.Type: the data-type part of the enum.
struct PaddleType {
  std::int64_t code;
  const char* name;
  bool supported;
  DType dtype;
};
constexpr PaddleType kPaddleTypes[] = {
    {0, "BOOL", true, DType::Bool},       {1, "INT16", true, DType::I16},
    {2, "INT32", true, DType::I32},       {3, "INT64", true, DType::I64},
    {4, "FP16", true, DType::F16},        {5, "FP32", true, DType::F32},
    {6, "FP64", true, DType::F64},        {19, "SIZE_T", false, DType::U8},
    {20, "UINT8", true, DType::U8},       {21, "INT8", true, DType::I8},
    {22, "BF16", true, DType::BF16},      {23, "COMPLEX64", false, DType::U8},
    {24, "COMPLEX128", false, DType::U8},
};

const PaddleType* find_type(std::int64_t code) {
  for (const PaddleType& t : kPaddleTypes) {
    if (t.code == code) return &t;
  }
  return nullptr;
}

// Protobuf wire types.
constexpr int kVarint = 0;
constexpr int kFixed64 = 1;
constexpr int kLengthDelimited = 2;
constexpr int kFixed32 = 5;

bool read_varint(const std::string& buf, std::size_t& pos, std::uint64_t* out) {
  std::uint64_t v = 0;
  for (int shift = 0; shift < 70 && pos < buf.size(); shift += 7) {
    const auto byte = static_cast<unsigned char>(buf[pos++]);
    v |= static_cast<std::uint64_t>(byte & 0x7fu) << shift;
    if ((byte & 0x80u) == 0) {
      *out = v;
      return true;
    }
  }
  return false;
}

void append_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80u) {
    out.push_back(static_cast<char>((v & 0x7fu) | 0x80u));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

template <typename T>
void append_le(std::string& out, T value) {
  const auto v = static_cast<std::uint64_t>(value);
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xffu));
  }
}

struct TensorDesc {
  std::int64_t data_type = -1;
  std::vector<std::int64_t> dims;
};

// The bytes being read: a file or a string.
struct Source {
  std::string file;
  std::string bytes;  // the records, when reading from memory
  std::ifstream stream;
  bool from_memory = false;
  std::uint64_t size = 0;
  std::uint64_t pos = 0;
  std::size_t count = 0;

  std::uint64_t left() const { return size - pos; }
  // Callers check left() first, so only an I/O failure can stop this.
  void read(void* dst, std::uint64_t n) {
    if (n == 0) return;
    if (from_memory) {
      std::memcpy(dst, bytes.data() + pos, n);
    } else if (!stream.read(static_cast<char*>(dst), static_cast<std::streamsize>(n))) {
      throw_error(ErrorKind::Io,
                  "read failed at byte " + std::to_string(pos) + " (file changed while reading?)",
                  at_file(file));
    }
    pos += n;
  }
};

// Bytes of dtype x shape; false for negative dimensions or a count beyond 63 bits.
// Reads one record from the reader's current position.
class RecordReader {
 public:
  RecordReader(Source& src, const std::string& tensor_name)
      : src_(src), tensor_name_(tensor_name), index_(src.count), start_(src.pos) {}

  PaddleTensor read() {
    PaddleTensor t;
    t.index = index_;
    t.offset = start_;
    const auto version = scalar<std::uint32_t>("LoDTensor version");
    if (version != kLoDTensorVersion) {
      fail("unsupported LoDTensor version " + std::to_string(version) + " (expected 0)");
    }
    t.lod = read_lod();
    const auto tensor_version = scalar<std::uint32_t>("tensor version");
    if (tensor_version != kTensorVersion) {
      fail("unsupported tensor version " + std::to_string(tensor_version) + " (expected 0)");
    }
    const TensorDesc desc = read_desc();
    t.array.dtype = checked_dtype(desc.data_type);
    t.array.shape = desc.dims;
    t.array.data.resize(data_size(t.array));
    src_.read(t.array.data.data(), t.array.data.size());
    return t;
  }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    Location where = at_file(src_.file);
    where.tensor = tensor_name_;
    throw_error(
        ErrorKind::Data,
        "tensor #" + std::to_string(index_) + " at byte " + std::to_string(start_) + ": " + message,
        where);
  }

  void need(std::uint64_t n, const std::string& what) const {
    if (n > src_.left()) {
      fail("truncated " + what + ": need " + std::to_string(n) + " bytes at byte " +
           std::to_string(src_.pos) + ", " + std::to_string(src_.left()) + " left");
    }
  }

  template <typename T>
  T scalar(const std::string& what) {
    need(sizeof(T), what);
    unsigned char b[sizeof(T)];
    src_.read(b, sizeof(T));
    std::uint64_t v = 0;
    for (std::size_t i = sizeof(T); i-- > 0;) v = (v << 8) | b[i];
    return static_cast<T>(v);
  }

  PaddleLoD read_lod() {
    const auto levels = scalar<std::uint64_t>("LoD level count");
    if (levels > limits::kMaxLodLevels) {
      fail("LoD level count " + std::to_string(levels) + " is above the limit of " +
           std::to_string(limits::kMaxLodLevels) + " (kMaxLodLevels)");
    }
    if (levels > src_.left() / 8) {
      fail("LoD level count " + std::to_string(levels) + " cannot fit in the " +
           std::to_string(src_.left()) + " bytes left");
    }
    PaddleLoD lod(levels);
    for (std::uint64_t level = 0; level < levels; ++level) {
      const std::string what = "LoD level " + std::to_string(level);
      const auto nbytes = scalar<std::uint64_t>(what + " byte count");
      if (nbytes % 8 != 0) {
        fail(what + " has " + std::to_string(nbytes) + " bytes, not a multiple of 8");
      }
      need(nbytes, what);
      lod[level].resize(nbytes / 8);
      for (auto& offset : lod[level]) offset = scalar<std::uint64_t>(what);
    }
    return lod;
  }

  TensorDesc read_desc() {
    const auto length = scalar<std::int32_t>("TensorDesc length");
    if (length < 0) fail("negative TensorDesc length " + std::to_string(length));
    need(static_cast<std::uint64_t>(length), "TensorDesc");
    std::string buf(static_cast<std::size_t>(length), '\0');
    src_.read(buf.data(), buf.size());
    return parse_desc(buf);
  }

  std::uint64_t varint(const std::string& buf, std::size_t& pos) const {
    std::uint64_t v = 0;
    if (!read_varint(buf, pos, &v)) fail("TensorDesc: truncated or overlong varint");
    return v;
  }

  void skip(const std::string& buf, std::size_t& pos, int wire_type, std::uint64_t field) const {
    std::uint64_t n = 0;
    switch (wire_type) {
      case kVarint: varint(buf, pos); return;
      case kFixed64: n = 8; break;
      case kFixed32: n = 4; break;
      case kLengthDelimited: n = varint(buf, pos); break;
      default:
        fail("TensorDesc: field " + std::to_string(field) + " has unsupported wire type " +
             std::to_string(wire_type));
    }
    if (n > buf.size() - pos) fail("TensorDesc: field " + std::to_string(field) + " is truncated");
    pos += static_cast<std::size_t>(n);
  }

  // proto2 `message TensorDesc { required Type data_type = 1; repeated int64 dims = 2; }`.
  // Paddle writes dims unpacked; packed dims are accepted too, unknown fields skipped.
  TensorDesc parse_desc(const std::string& buf) const {
    TensorDesc desc;
    std::size_t pos = 0;
    while (pos < buf.size()) {
      const std::uint64_t key = varint(buf, pos);
      const std::uint64_t field = key >> 3;
      const int wire_type = static_cast<int>(key & 7u);
      if (field == 0) fail("TensorDesc: invalid field number 0");
      if (field == 1 && wire_type == kVarint) {
        desc.data_type = static_cast<std::int64_t>(varint(buf, pos));
      } else if (field == 2 && wire_type == kVarint) {
        desc.dims.push_back(static_cast<std::int64_t>(varint(buf, pos)));
      } else if (field == 2 && wire_type == kLengthDelimited) {
        const std::uint64_t n = varint(buf, pos);
        if (n > buf.size() - pos) fail("TensorDesc: packed dims are truncated");
        const std::string packed = buf.substr(pos, static_cast<std::size_t>(n));
        pos += static_cast<std::size_t>(n);
        for (std::size_t p = 0; p < packed.size();) {
          desc.dims.push_back(static_cast<std::int64_t>(varint(packed, p)));
        }
      } else if (field == 1 || field == 2) {
        fail("TensorDesc: field " + std::to_string(field) + " has wire type " +
             std::to_string(wire_type));
      } else {
        skip(buf, pos, wire_type, field);
      }
    }
    if (desc.data_type < 0) fail("TensorDesc has no data_type");
    return desc;
  }

  DType checked_dtype(std::int64_t code) const {
    DType dtype;
    if (dtype_from_paddle_type(code, &dtype)) return dtype;
    const PaddleType* known = find_type(code);
    if (known) fail("unsupported data type " + std::to_string(code) + " (" + known->name + ")");
    fail("unknown data type " + std::to_string(code));
  }

  // Bytes of the data section, checked against what is left before anything is allocated.
  std::uint64_t data_size(const NDArray& a) const {
    const std::string what =
        std::string(paddle_type_name(paddle_type_code(a.dtype))) + " " + shape_string(a.shape);
    for (std::int64_t d : a.shape) {
      if (d < 0) fail("negative dimension in dims " + shape_string(a.shape));
    }
    std::uint64_t n = 0;
    const std::string problem = tensor_size_problem(a.dtype, a.shape, &n);
    if (!problem.empty()) fail(problem);
    need(n, "data of " + what);
    return n;
  }

  Source& src_;
  const std::string& tensor_name_;
  std::size_t index_;
  std::uint64_t start_;
};

void check_writable(const NDArray& a, std::size_t index) {
  std::uint64_t n = 0;
  if (!checked_nbytes(a.dtype, a.shape, &n) || a.data.size() != n) {
    throw_error(ErrorKind::Runtime, "tensor #" + std::to_string(index) + ": holds " +
                                        std::to_string(a.data.size()) +
                                        " bytes, which does not fit " + dtype_name(a.dtype) + " " +
                                        shape_string(a.shape));
  }
}

void append_record(std::string& out, const NDArray& a, const PaddleLoD& lod, std::size_t index) {
  check_writable(a, index);
  append_le<std::uint32_t>(out, kLoDTensorVersion);
  append_le<std::uint64_t>(out, lod.size());
  for (const auto& level : lod) {
    append_le<std::uint64_t>(out, level.size() * 8);
    for (std::uint64_t offset : level) append_le<std::uint64_t>(out, offset);
  }
  append_le<std::uint32_t>(out, kTensorVersion);
  std::string desc;
  desc.push_back(0x08);  // field 1, varint
  append_varint(desc, static_cast<std::uint64_t>(paddle_type_code(a.dtype)));
  for (std::int64_t d : a.shape) {
    desc.push_back(0x10);  // field 2, varint: one per dim, unpacked like Paddle
    append_varint(desc, static_cast<std::uint64_t>(d));
  }
  append_le<std::int32_t>(out, static_cast<std::int32_t>(desc.size()));
  out += desc;
  out.append(reinterpret_cast<const char*>(a.data.data()), a.data.size());
}

void warn_if_lod(const PaddleTensor& t, const std::string& file) {
  if (!t.lod.empty()) {
    spdlog::warn("{}: tensor #{} at byte {} carries {} LoD level(s); ignored for a parameter", file,
                 t.index, t.offset, t.lod.size());
  }
}

}  // namespace

struct PaddleTensorReader::Impl {
  Source src;
};

int paddle_type_code(DType dtype) {
  for (const PaddleType& t : kPaddleTypes) {
    if (t.supported && t.dtype == dtype) return static_cast<int>(t.code);
  }
  return -1;  // unreachable: every DType has a code
}

bool dtype_from_paddle_type(std::int64_t code, DType* out) {
  const PaddleType* t = find_type(code);
  if (!t || !t->supported) return false;
  *out = t->dtype;
  return true;
}

const char* paddle_type_name(std::int64_t code) {
  const PaddleType* t = find_type(code);
  return t ? t->name : "?";
}

PaddleTensorReader::PaddleTensorReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PaddleTensorReader::PaddleTensorReader(const std::string& path) : impl_(std::make_unique<Impl>()) {
  impl_->src.file = path;
  if (is_directory(path)) {
    throw_error(ErrorKind::Io, "is a directory, expected a file", at_file(path));
  }
  impl_->src.stream.open(path, std::ios::binary | std::ios::ate);
  if (!impl_->src.stream) {
    throw_error(ErrorKind::Io, "cannot open for reading: " + std::string(std::strerror(errno)),
                at_file(path));
  }
  impl_->src.size = static_cast<std::uint64_t>(impl_->src.stream.tellg());
  impl_->src.stream.seekg(0);
}

PaddleTensorReader PaddleTensorReader::from_bytes(std::string bytes, std::string name_for_errors) {
  auto impl = std::make_unique<Impl>();
  impl->src.file = std::move(name_for_errors);
  impl->src.bytes = std::move(bytes);
  impl->src.from_memory = true;
  impl->src.size = impl->src.bytes.size();
  return PaddleTensorReader(std::move(impl));
}

PaddleTensorReader::~PaddleTensorReader() = default;
PaddleTensorReader::PaddleTensorReader(PaddleTensorReader&&) noexcept = default;
PaddleTensorReader& PaddleTensorReader::operator=(PaddleTensorReader&&) noexcept = default;

bool PaddleTensorReader::at_end() const { return impl_->src.pos >= impl_->src.size; }

PaddleTensor PaddleTensorReader::next(const std::string& tensor_name) {
  if (at_end()) {
    Location where = at_file(impl_->src.file);
    where.tensor = tensor_name;
    const std::string message =
        impl_->src.count == 0
            ? "the file is empty, expected a tensor record"
            : "the file ends after " + std::to_string(impl_->src.count) + " tensors";
    throw_error(ErrorKind::Data, "tensor #" + std::to_string(impl_->src.count) + ": " + message,
                where);
  }
  if (impl_->src.count >= limits::kMaxTensorsPerFile) {
    Location where = at_file(impl_->src.file);
    where.tensor = tensor_name;
    throw_error(ErrorKind::Data,
                "tensor #" + std::to_string(impl_->src.count) + ": more than " +
                    std::to_string(limits::kMaxTensorsPerFile) + " tensors in one file (kMaxTensorsPerFile)",
                where);
  }
  PaddleTensor t = RecordReader(impl_->src, tensor_name).read();
  ++impl_->src.count;
  return t;
}

const std::string& PaddleTensorReader::file() const { return impl_->src.file; }
std::uint64_t PaddleTensorReader::offset() const { return impl_->src.pos; }
std::uint64_t PaddleTensorReader::size() const { return impl_->src.size; }
std::size_t PaddleTensorReader::count() const { return impl_->src.count; }

NDArray read_paddle_tensor(const std::string& path) {
  PaddleTensorReader reader(path);
  PaddleTensor t = reader.next();
  if (!reader.at_end()) {
    throw_error(ErrorKind::Data,
                "tensor #0 at byte 0: " + std::to_string(reader.size() - reader.offset()) +
                    " trailing bytes after the tensor (a single-parameter file holds one; "
                    "is this a combined file?)",
                at_file(path));
  }
  warn_if_lod(t, path);
  return std::move(t.array);
}

std::vector<NDArray> read_paddle_combined(const std::string& path) {
  PaddleTensorReader reader(path);
  std::vector<NDArray> out;
  while (!reader.at_end()) {
    PaddleTensor t = reader.next();
    warn_if_lod(t, path);
    out.push_back(std::move(t.array));
  }
  return out;
}

void append_paddle_tensor(std::string& out, const NDArray& array, const PaddleLoD& lod) {
  append_record(out, array, lod, 0);
}

void write_paddle_tensor(const std::string& path, const NDArray& array) {
  std::string out;
  append_record(out, array, {}, 0);
  write_file_atomic(path, out);
}

void write_paddle_combined(const std::string& path, const std::vector<NDArray>& arrays) {
  AtomicFile file(path);
  std::string record;
  for (std::size_t i = 0; i < arrays.size(); ++i) {
    record.clear();
    append_record(record, arrays[i], {}, i);
    file.write(record.data(), record.size());
  }
  file.commit();
}

}  // namespace mvtag
