// The pickle writer: Python 2's pickle module at protocol 2 with numpy 1.x's reductions, so the
// feature files mvtag writes (demo data, tests) look like the original's.
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <string>

#include "mvtag/core/base/error.h"
#include "mvtag/core/formats/pickle.h"

namespace mvtag {

namespace {

// The numpy type string ('f4', 'i8', 'b1', ...) of a dtype we support; "" otherwise.
std::string numpy_type_string(DType d) {
  switch (d) {
    case DType::Bool: return "b1";
    case DType::U8: return "u1";
    case DType::I8: return "i1";
    case DType::I16: return "i2";
    case DType::I32: return "i4";
    case DType::I64: return "i8";
    case DType::F16: return "f2";
    case DType::F32: return "f4";
    case DType::F64: return "f8";
    case DType::BF16: return "";
  }
  return "";
}

class Py2Writer {
 public:
  std::string finish(const PickleValue& v) {
    out_ = "\x80\x02";
    value(v, 0);
    out_ += '.';
    return std::move(out_);
  }

 private:
  static constexpr std::size_t kBatch = 1000;  // pickle's _BATCHSIZE

  void put() {
    const std::uint32_t i = next_memo_++;
    if (i < 256) {
      out_ += 'q';
      out_ += static_cast<char>(i);
    } else {
      out_ += 'r';
      le(i, 4);
    }
  }
  // Objects Python would share (and find in its memo): emit a GET if seen, else remember.
  bool get_shared(const std::string& key) {
    const auto it = shared_.find(key);
    if (it == shared_.end()) return false;
    if (it->second < 256) {
      out_ += 'h';
      out_ += static_cast<char>(it->second);
    } else {
      out_ += 'j';
      le(it->second, 4);
    }
    return true;
  }
  void put_shared(const std::string& key) {
    shared_[key] = next_memo_;
    put();
  }
  void le(std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out_ += static_cast<char>((v >> (8 * i)) & 0xFF);
  }

  // Python 2 interns empty and one-character strings, so pickle memoizes them by value.
  void py2_str(std::string_view raw) {
    const std::string key = "str:" + std::string(raw);
    if (raw.size() <= 1 && get_shared(key)) return;
    if (raw.size() < 256) {
      out_ += 'U';
      out_ += static_cast<char>(raw.size());
    } else {
      out_ += 'T';
      le(raw.size(), 4);
    }
    out_.append(raw.data(), raw.size());
    if (raw.size() <= 1) {
      put_shared(key);
    } else {
      put();
    }
  }
  void unicode(std::string_view utf8) {
    out_ += 'X';
    le(utf8.size(), 4);
    out_.append(utf8.data(), utf8.size());
    put();
  }
  void text(const std::string& s) {
    const bool ascii = std::all_of(s.begin(), s.end(), [](char c) { return (c & 0x80) == 0; });
    if (ascii) {
      py2_str(s);
    } else {
      unicode(s);
    }
  }
  void integer(std::int64_t v) {
    if (v >= 0 && v <= 0xFF) {
      out_ += 'K';
      le(static_cast<std::uint64_t>(v), 1);
    } else if (v >= 0 && v <= 0xFFFF) {
      out_ += 'M';
      le(static_cast<std::uint64_t>(v), 2);
    } else if (v >= std::numeric_limits<std::int32_t>::min() && v <= std::numeric_limits<std::int32_t>::max()) {
      out_ += 'J';
      le(static_cast<std::uint32_t>(static_cast<std::int32_t>(v)), 4);
    } else {
      out_ += "I" + std::to_string(v) + "\n";  // Python 2 int beyond 32 bits: text form
    }
  }
  void real(double d) {
    std::uint64_t bits;
    std::memcpy(&bits, &d, 8);
    out_ += 'G';
    for (int i = 7; i >= 0; --i) out_ += static_cast<char>((bits >> (8 * i)) & 0xFF);
  }
  void global(const std::string& module, const std::string& name) {
    if (get_shared("global:" + module + "." + name)) return;
    out_ += "c" + module + "\n" + name + "\n";
    put_shared("global:" + module + "." + name);
  }
  // A tuple of small ints (shapes): TUPLE1..3 or MARK ... TUPLE, memoized unless empty.
  void int_tuple(const std::vector<std::int64_t>& v) {
    if (v.empty()) {
      out_ += ')';
      return;
    }
    if (v.size() > 3) out_ += '(';
    for (std::int64_t x : v) integer(x);
    out_ += v.size() > 3 ? 't' : static_cast<char>(0x84 + v.size());
    put();
  }
  // numpy.dtype('f4') as numpy's __reduce__ gives it: dtype(('f4', False, True)) + BUILD state.
  void dtype(DType d) {
    const std::string code = numpy_type_string(d);
    if (code.empty()) throw_error(ErrorKind::Data, std::string("cannot pickle a ") + dtype_name(d) + " array");
    if (get_shared("dtype:" + code)) return;
    global("numpy", "dtype");
    py2_str(code);
    out_ += "\x89\x88\x87";  // False, True, TUPLE3
    put();
    out_ += 'R';
    put_shared("dtype:" + code);
    out_ += '(';
    integer(3);
    py2_str(dtype_size(d) == 1 ? "|" : "<");
    out_ += "NNN";
    integer(-1);
    integer(-1);
    integer(0);
    out_ += 't';
    put();
    out_ += 'b';
  }
  void array(const NDArray& a) {
    global("numpy.core.multiarray", "_reconstruct");
    global("numpy", "ndarray");
    int_tuple({0});
    py2_str("b");
    out_ += '\x87';
    put();
    out_ += 'R';
    put();
    out_ += '(';
    integer(1);
    int_tuple(a.shape);
    dtype(a.dtype);
    out_ += '\x89';  // is_fortran = False: NDArray is C order
    py2_str(std::string_view(reinterpret_cast<const char*>(a.data.data()), a.data.size()));
    out_ += 't';
    put();
    out_ += 'b';
  }
  template <typename Items, typename Emit>
  void batched(const Items& items, char one, char many, Emit emit, int depth) {
    for (std::size_t i = 0; i < items.size(); i += kBatch) {
      const std::size_t n = std::min(kBatch, items.size() - i);
      if (n > 1) out_ += '(';
      for (std::size_t k = i; k < i + n; ++k) emit(items[k], depth);
      out_ += n > 1 ? many : one;
    }
  }
  void value(const PickleValue& v, int depth) {
    if (depth > kPickleMaxDepth) {
      throw_error(ErrorKind::Data, "cannot pickle values nested deeper than " + std::to_string(kPickleMaxDepth) + " levels");
    }
    using T = PickleValue::Type;
    switch (v.type) {
      case T::None: out_ += 'N'; return;
      case T::Bool: out_ += v.boolean ? '\x88' : '\x89'; return;
      case T::Int: integer(v.integer); return;
      case T::Float: real(v.real); return;
      case T::Str: text(v.text); return;
      case T::Bytes: py2_str(v.text); return;
      case T::Array: array(v.array); return;
      case T::Tuple: {
        if (v.items.empty()) {
          out_ += ')';
          return;
        }
        if (v.items.size() > 3) out_ += '(';
        for (const auto& item : v.items) value(item, depth + 1);
        out_ += v.items.size() > 3 ? 't' : static_cast<char>(0x84 + v.items.size());
        put();
        return;
      }
      case T::List:
        out_ += ']';
        put();
        batched(v.items, 'a', 'e', [this](const PickleValue& item, int d) { value(item, d + 1); }, depth);
        return;
      case T::Dict:
        out_ += '}';
        put();
        batched(v.entries, 's', 'u',
                [this](const std::pair<PickleValue, PickleValue>& kv, int d) {
                  value(kv.first, d + 1);
                  value(kv.second, d + 1);
                },
                depth);
        return;
    }
  }

  std::string out_;
  std::uint32_t next_memo_ = 0;
  std::map<std::string, std::uint32_t> shared_;
};

}  // namespace

std::string write_pickle(const PickleValue& value) { return Py2Writer().finish(value); }

}  // namespace mvtag
