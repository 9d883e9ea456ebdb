// numpy in pickles: the globals numpy 1.x (numpy.core) and 2.x (numpy._core) pickle arrays,
// dtypes and scalars with, and how arrays are rebuilt from them as C-ordered little-endian
// NDArrays: _reconstruct + BUILD (protocols 0..4), _frombuffer (protocol 5), big-endian and
// Fortran-ordered data, and data given as a list of values.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "pickle_internal.h"

namespace mvtag::pickle_internal {

namespace {

void byteswap_items(std::vector<std::uint8_t>& data, std::size_t itemsize) {
  if (itemsize < 2) return;
  for (std::size_t i = 0; i + itemsize <= data.size(); i += itemsize) {
    for (std::size_t a = i, b = i + itemsize - 1; a < b; ++a, --b) std::swap(data[a], data[b]);
  }
}

// Fortran-ordered bytes to C order.
std::vector<std::uint8_t> fortran_to_c(const std::vector<std::uint8_t>& src,
                                       const std::vector<std::int64_t>& shape, std::size_t itemsize) {
  const std::size_t ndim = shape.size();
  std::vector<std::uint8_t> dst(src.size());
  if (src.empty() || ndim < 2) return src;
  std::vector<std::int64_t> fstride(ndim, 1), idx(ndim, 0);
  for (std::size_t k = 1; k < ndim; ++k) fstride[k] = fstride[k - 1] * shape[k - 1];
  const std::size_t n = src.size() / itemsize;
  for (std::size_t c = 0; c < n; ++c) {
    std::int64_t f = 0;
    for (std::size_t k = 0; k < ndim; ++k) f += idx[k] * fstride[k];
    std::memcpy(&dst[c * itemsize], &src[static_cast<std::size_t>(f) * itemsize], itemsize);
    for (std::size_t k = ndim; k-- > 0;) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
  return dst;
}

template <typename T>
T load(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

template <typename T>
void store(std::vector<std::uint8_t>& data, std::size_t i, T v) {
  std::memcpy(&data[i * sizeof(T)], &v, sizeof(T));
}

// The array `raw` holds: exactly shape x dtype bytes, swapped to little-endian and C order.
NDArray make_array(const Machine& m, const DTypeSpec& spec, std::vector<std::int64_t> shape, std::string_view raw,
                   bool fortran) {
  const std::size_t itemsize = dtype_size(spec.dtype);
  std::uint64_t expected = 0;
  const std::string problem = tensor_size_problem(spec.dtype, shape, &expected);
  if (!problem.empty()) m.fail("array: " + problem);
  if (raw.size() != expected) {
    m.fail("array data holds " + std::to_string(raw.size()) + " bytes, but shape " + shape_string(shape) + " of " +
           dtype_name(spec.dtype) + " needs " + std::to_string(expected));
  }
  NDArray a;
  a.dtype = spec.dtype;
  a.data.assign(raw.begin(), raw.end());
  if (spec.order == '>') byteswap_items(a.data, itemsize);
  if (fortran) a.data = fortran_to_c(a.data, shape, itemsize);
  a.shape = std::move(shape);
  return a;
}

// numpy writes a list instead of bytes for object arrays; accept it for numbers too.
NDArray array_from_list(const Machine& m, const DTypeSpec& spec, std::vector<std::int64_t> shape,
                        const std::vector<Ref>& values) {
  NDArray a;
  a.dtype = spec.dtype;
  a.shape = std::move(shape);
  if (static_cast<std::uint64_t>(a.numel()) != values.size()) {
    m.fail("array data list has " + std::to_string(values.size()) + " values, shape " + shape_string(a.shape) +
           " needs " + std::to_string(a.numel()));
  }
  a.data.resize(values.size() * dtype_size(a.dtype));
  for (std::size_t i = 0; i < values.size(); ++i) {
    const Node& n = m.node(values[i]);
    if (n.kind == Kind::Float && !is_floating(a.dtype)) m.fail("a float in the data list of an integer array");
    const double d = n.kind == Kind::Float ? n.real : static_cast<double>(m.int_of(values[i], "an array value"));
    const std::int64_t iv = n.kind == Kind::Float ? 0 : m.int_of(values[i], "an array value");
    switch (a.dtype) {
      case DType::Bool: a.data[i] = d != 0.0; break;
      case DType::U8: store(a.data, i, static_cast<std::uint8_t>(iv)); break;
      case DType::I8: store(a.data, i, static_cast<std::int8_t>(iv)); break;
      case DType::I16: store(a.data, i, static_cast<std::int16_t>(iv)); break;
      case DType::I32: store(a.data, i, static_cast<std::int32_t>(iv)); break;
      case DType::I64: store(a.data, i, iv); break;
      case DType::F16: store(a.data, i, float_to_half(static_cast<float>(d))); break;
      case DType::F32: store(a.data, i, static_cast<float>(d)); break;
      case DType::F64: store(a.data, i, d); break;
      case DType::BF16: break;
    }
  }
  return a;
}

Ref add_array(Machine& m, NDArray a) {
  Node n;
  n.kind = Kind::Array;
  n.array = std::make_unique<NDArray>(std::move(a));
  return m.add(std::move(n));
}

bool is_ndarray_type(const Machine& m, Ref r) {
  const Node& n = m.node(r);
  return n.kind == Kind::Global && n.global->module == "numpy" && n.global->name == "ndarray";
}

// _reconstruct(numpy.ndarray, (0,), b'b'): an empty array that BUILD fills in.
Ref reduce_reconstruct(Machine& m, const PickleGlobal& self, const std::vector<Ref>& args) {
  const std::string name = self.qualified_name();
  if (args.size() != 3) m.fail(name + " expects 3 arguments, got " + std::to_string(args.size()));
  if (!is_ndarray_type(m, args[0])) m.fail(name + " of " + m.what(args[0]) + ": only numpy.ndarray is supported");
  return m.add_kind(Kind::UnbuiltArray);
}

// ndarray state: ([version,] shape, dtype, is_fortran, data); data is bytes, a Python 2 str or a list.
void build_array(Machine& m, Ref inst, Ref state_ref) {
  if (m.node(inst).kind != Kind::UnbuiltArray) m.fail("BUILD on " + m.what(inst) + " is not supported");
  const std::vector<Ref> state = m.tuple_items(state_ref, "the state of " + m.what(inst));
  if (state.size() != 4 && state.size() != 5) {
    m.fail("numpy array state has " + std::to_string(state.size()) + " items, expected 4 or 5");
  }
  const std::size_t o = state.size() - 4;
  std::vector<std::int64_t> shape = m.shape_of(state[o]);
  if (m.node(state[o + 1]).kind != Kind::DType) m.fail("numpy array state without a dtype");
  const DTypeSpec spec = m.node(state[o + 1]).dtype;
  const bool fortran = m.int_of(state[o + 2], "is_fortran") != 0;
  const Ref data = state[o + 3];
  NDArray a;
  if (m.node(data).kind == Kind::List) {
    a = array_from_list(m, spec, std::move(shape), m.node(data).items);
    if (fortran) a.data = fortran_to_c(a.data, a.shape, dtype_size(a.dtype));
  } else {
    std::string scratch;
    a = make_array(m, spec, std::move(shape), m.raw_bytes_of(data, "numpy array data", &scratch), fortran);
  }
  Node& n = m.node(inst);
  n.kind = Kind::Array;
  n.array = std::make_unique<NDArray>(std::move(a));
}

// numpy.dtype('f4', align, copy): kind and item size; the byte order comes with BUILD.
Ref reduce_dtype(Machine& m, const PickleGlobal&, const std::vector<Ref>& args) {
  if (args.empty() || !m.is_text(args[0])) m.fail("numpy.dtype expects a type string such as 'f4'");
  std::string code = m.text_of(args[0]);
  DTypeSpec spec;
  if (!code.empty() && (code[0] == '<' || code[0] == '>' || code[0] == '|' || code[0] == '=')) {
    spec.order = code[0] == '>' ? '>' : '<';
    code.erase(0, 1);
  }
  const std::string shown = "'" + printable(code) + "'";
  if (code.size() < 2) m.fail("unknown numpy dtype " + shown);
  const char kind = code[0];
  const std::string size = code.substr(1);
  bool known = true;
  if (kind == 'f' && size == "2") spec.dtype = DType::F16;
  else if (kind == 'f' && size == "4") spec.dtype = DType::F32;
  else if (kind == 'f' && size == "8") spec.dtype = DType::F64;
  else if (kind == 'i' && size == "1") spec.dtype = DType::I8;
  else if (kind == 'i' && size == "2") spec.dtype = DType::I16;
  else if (kind == 'i' && size == "4") spec.dtype = DType::I32;
  else if (kind == 'i' && size == "8") spec.dtype = DType::I64;
  else if (kind == 'u' && size == "1") spec.dtype = DType::U8;
  else if (kind == 'b' && size == "1") spec.dtype = DType::Bool;
  else known = false;
  if (!known) {
    std::string kind_name;
    switch (kind) {
      case 'O': kind_name = "object arrays"; break;
      case 'c': kind_name = "complex numbers"; break;
      case 'V': kind_name = "structured (void) records"; break;
      case 'S':
      case 'U': kind_name = "strings"; break;
      case 'M':
      case 'm': kind_name = "dates and times"; break;
      case 'u':
        // The size comes from the file: only a short one is turned into bits (int overflow).
        kind_name = !size.empty() && size.size() <= 4 && size.find_first_not_of("0123456789") == std::string::npos
                        ? "uint" + std::to_string(std::stoi(size) * 8)
                        : "unsigned integers of " + size + " bytes";
        break;
      default: kind_name = "an unknown kind";
    }
    m.fail("numpy dtype " + shown + " (" + kind_name +
           ") is not supported; expected float16/32/64, int8/16/32/64, uint8 or bool");
  }
  Node n;
  n.kind = Kind::DType;
  n.dtype = spec;
  return m.add(std::move(n));
}

// numpy's dtype state: (version, byte order, subarray, names, fields, elsize, alignment, flags[, metadata]).
void build_dtype(Machine& m, Ref inst, Ref state_ref) {
  const std::vector<Ref> state = m.tuple_items(state_ref, "the state of " + m.what(inst));
  if (state.size() < 2 || !m.is_text(state[1])) m.fail("numpy dtype state without a byte order");
  const std::string order = m.text_of(state[1]);
  if (order.size() != 1 || std::string("<>|=").find(order[0]) == std::string::npos) {
    m.fail("numpy dtype byte order '" + printable(order) + "' (expected <, >, | or =)");
  }
  for (std::size_t i = 2; i < 5 && i < state.size(); ++i) {
    if (m.node(state[i]).kind != Kind::None) m.fail("structured or subarray numpy dtypes are not supported");
  }
  m.node(inst).dtype.order = order[0] == '>' ? '>' : '<';  // '=' is native: little-endian here
}

// numpy >= 1.16 at protocol 5: _frombuffer(buffer, dtype, shape, order).
Ref reduce_frombuffer(Machine& m, const PickleGlobal&, const std::vector<Ref>& args) {
  if (args.size() != 4) m.fail("_frombuffer expects 4 arguments, got " + std::to_string(args.size()));
  if (m.node(args[1]).kind != Kind::DType) m.fail("_frombuffer without a dtype");
  if (!m.is_text(args[3])) m.fail("_frombuffer order must be 'C' or 'F'");
  const std::string order = m.text_of(args[3]);
  if (order != "C" && order != "F") m.fail("_frombuffer order '" + printable(order) + "' (expected C or F)");
  std::string scratch;
  return add_array(m, make_array(m, m.node(args[1]).dtype, m.shape_of(args[2]),
                                 m.raw_bytes_of(args[0], "_frombuffer data", &scratch), order == "F"));
}

// A numpy scalar (np.float32(1.5)): becomes the Python number it stands for.
Ref reduce_scalar(Machine& m, const PickleGlobal&, const std::vector<Ref>& args) {
  if (args.size() != 2 || m.node(args[0]).kind != Kind::DType) m.fail("numpy scalar expects (dtype, bytes)");
  std::string scratch;
  const NDArray a =
      make_array(m, m.node(args[0]).dtype, {}, m.raw_bytes_of(args[1], "numpy scalar data", &scratch), false);
  const std::uint8_t* p = a.data.data();
  Node n;
  n.kind = Kind::Int;
  switch (a.dtype) {
    case DType::Bool: return p[0] != 0 ? kTrueRef : kFalseRef;
    case DType::U8: n.integer = load<std::uint8_t>(p); break;
    case DType::I8: n.integer = load<std::int8_t>(p); break;
    case DType::I16: n.integer = load<std::int16_t>(p); break;
    case DType::I32: n.integer = load<std::int32_t>(p); break;
    case DType::I64: n.integer = load<std::int64_t>(p); break;
    case DType::F16:
    case DType::BF16:
    case DType::F32:
      n.kind = Kind::Float;
      n.real = a.to_float()[0];
      break;
    case DType::F64:
      n.kind = Kind::Float;
      n.real = load<double>(p);
      break;
  }
  return m.add(std::move(n));
}

}  // namespace

const std::vector<PickleGlobal>& numpy_pickle_globals() {
  static const std::vector<PickleGlobal> globals = {
      {"numpy.core.multiarray", "_reconstruct", reduce_reconstruct, build_array},
      {"numpy._core.multiarray", "_reconstruct", reduce_reconstruct, build_array},
      {"numpy", "ndarray"},  // only as _reconstruct's first argument
      {"numpy", "dtype", reduce_dtype, build_dtype},
      {"numpy.core.numeric", "_frombuffer", reduce_frombuffer},
      {"numpy._core.numeric", "_frombuffer", reduce_frombuffer},
      {"numpy.core.multiarray", "scalar", reduce_scalar},
      {"numpy._core.multiarray", "scalar", reduce_scalar},
  };
  return globals;
}

}  // namespace mvtag::pickle_internal
