#include "mvtag/core/formats/torch_checkpoint.h"

#include <cstring>
#include <map>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/formats/pickle.h"
#include "mvtag/core/formats/zip_reader.h"

namespace mvtag {

namespace {

// The legacy format's first pickle holds 0x1950a86a20f9469cfc6c (LONG1, 10 little-endian bytes).
const std::string kLegacyMagic("\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 12);
constexpr std::int64_t kLegacyProtocolVersion = 1001;
// Where training scripts nest the state dict inside a larger checkpoint dict.
const char* const kNestedKeys[] = {"state_dict", "model", "module"};

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw_error(ErrorKind::Data, what, at_file(path));
}

// The first key whose value is not a tensor, or "" when every value is one.
std::string first_non_tensor(const PickleValue& dict) {
  for (const auto& [k, v] : dict.entries) {
    if (k.type != PickleValue::Type::Str) return "<" + std::string(pickle_type_name(k.type)) + " key>";
    if (v.type != PickleValue::Type::Array) return k.text;
  }
  return "";
}

TorchStateDict state_dict_from(PickleValue root, const std::string& path, TorchFileFormat format) {
  if (root.type != PickleValue::Type::Dict) {
    fail(path, std::string("the saved object is a ") + pickle_type_name(root.type) +
                   ", expected a state dict (a dict of tensors: torch.save(model.state_dict(), ...))");
  }
  TorchStateDict out;
  out.format = format;
  PickleValue* dict = &root;
  const std::string bad = first_non_tensor(root);
  if (!bad.empty()) {
    dict = nullptr;
    for (const char* key : kNestedKeys) {
      for (auto& [k, v] : root.entries) {
        if (dict == nullptr && k.type == PickleValue::Type::Str && k.text == key && v.type == PickleValue::Type::Dict &&
            first_non_tensor(v).empty()) {
          dict = &v;
          out.nested_key = key;
        }
      }
    }
    if (dict == nullptr) {
      fail(path, "entry '" + bad + "' of the saved dict is not a tensor, and no 'state_dict', 'model' or 'module' "
                 "entry holds a dict of tensors");
    }
  }
  for (auto& [k, v] : dict->entries) out.tensors.push_back(NamedArray{k.text, std::move(v.array)});
  return out;
}

TorchStateDict read_zip(const std::string& path) {
  ZipReader zip(path);
  const ZipEntry* pkl = nullptr;
  for (const ZipEntry& e : zip.entries()) {
    const std::size_t slash = e.name.find('/');
    if (slash != std::string::npos && e.name.compare(slash + 1, std::string::npos, "data.pkl") == 0) {
      pkl = &e;
      break;
    }
  }
  if (pkl == nullptr) fail(path, "a ZIP archive without <archive>/data.pkl: not written by torch.save");
  const std::string prefix = pkl->name.substr(0, pkl->name.size() - std::strlen("data.pkl"));
  if (const ZipEntry* order = zip.find(prefix + "byteorder")) {
    const std::string byteorder = zip.read(*order);
    if (byteorder != "little") fail(path, "saved with byte order '" + byteorder + "'; only little-endian files are read");
  }
  const std::string pickle = zip.read(*pkl);
  std::map<std::string, std::string> storages;
  PickleOptions options;
  options.torch = true;
  options.torch_storage = [&](const TorchStorageRef& ref) -> std::string_view {
    const auto it = storages.find(ref.key);
    if (it != storages.end()) return it->second;
    const ZipEntry* entry = zip.find(prefix + "data/" + ref.key);
    if (entry == nullptr) throw_error(ErrorKind::Data, "the archive has no entry " + prefix + "data/" + ref.key);
    return storages.emplace(ref.key, zip.read(*entry)).first->second;
  };
  return state_dict_from(parse_pickle(pickle, path + " [" + pkl->name + "]", options), path, TorchFileFormat::Zip);
}

std::string legacy_source(const std::string& path, std::size_t at) {
  return path + " (pickle at byte " + std::to_string(at) + ")";
}

// Parses the plain pickle at `at`, advancing it past the pickle.
PickleValue next_pickle(const std::string& bytes, const std::string& path, std::size_t& at) {
  std::size_t len = 0;
  PickleValue v = parse_pickle(std::string_view(bytes).substr(at), legacy_source(path, at), PickleOptions{}, &len);
  at += len;
  return v;
}

void check_legacy_header(const std::string& bytes, const std::string& path, std::size_t& at) {
  const PickleValue version = next_pickle(bytes, path, at);
  if (version.type != PickleValue::Type::Int || version.integer != kLegacyProtocolVersion) {
    fail(path, "legacy torch.save file with protocol version other than 1001");
  }
  const PickleValue info = next_pickle(bytes, path, at);
  const PickleValue* little = info.find("little_endian");
  if (little == nullptr || little->type != PickleValue::Type::Bool) {
    fail(path, "legacy torch.save file without the system-info record");
  }
  if (!little->boolean) fail(path, "saved on a big-endian machine; only little-endian files are read");
}

// The legacy format's storages follow the keys pickle: per key, int64 element count + raw bytes.
std::map<std::string, std::string_view> legacy_storages(const std::string& bytes, const std::string& path,
                                                         std::size_t at, const std::vector<TorchStorageRef>& refs) {
  std::map<std::string, TorchStorageRef> by_key;
  for (const TorchStorageRef& r : refs) {
    const auto [it, inserted] = by_key.emplace(r.key, r);
    if (!inserted && it->second.dtype != r.dtype) {
      fail(path, "storage '" + r.key + "' is used with two dtypes (" + dtype_name(it->second.dtype) + ", " +
                     dtype_name(r.dtype) + ")");
    }
  }
  const PickleValue keys = next_pickle(bytes, path, at);
  if (keys.type != PickleValue::Type::List) fail(path, "the storage key list after the state dict is missing");
  std::map<std::string, std::string_view> out;
  for (const PickleValue& k : keys.items) {
    if (k.type != PickleValue::Type::Str) fail(path, "a storage key that is not a str");
    const auto ref = by_key.find(k.text);
    if (ref == by_key.end()) fail(path, "storage '" + k.text + "' is stored but no tensor uses it");
    const std::string where = "storage '" + k.text + "' at byte " + std::to_string(at);
    if (bytes.size() - at < 8) fail(path, where + ": truncated (no element count)");
    std::int64_t numel = 0;
    std::memcpy(&numel, bytes.data() + at, 8);
    if (numel != ref->second.numel) {
      fail(path, where + ": holds " + std::to_string(numel) + " elements, its id says " + std::to_string(ref->second.numel));
    }
    std::uint64_t nbytes = 0;
    if (!checked_nbytes(ref->second.dtype, {numel}, &nbytes) || nbytes > bytes.size() - at - 8) {
      fail(path, where + ": truncated (" + std::to_string(numel) + " " + dtype_name(ref->second.dtype) +
                     " elements do not fit in the " + std::to_string(bytes.size() - at - 8) + " bytes left)");
    }
    out[k.text] = std::string_view(bytes).substr(at + 8, static_cast<std::size_t>(nbytes));
    at += 8 + static_cast<std::size_t>(nbytes);
  }
  if (at != bytes.size()) fail(path, std::to_string(bytes.size() - at) + " unexpected bytes after the last storage");
  return out;
}

TorchStateDict read_legacy(const std::string& bytes, const std::string& path, std::size_t magic_end) {
  std::size_t at = magic_end;
  check_legacy_header(bytes, path, at);
  const std::size_t main_at = at;
  std::size_t main_len = 0;
  const std::vector<TorchStorageRef> refs =
      torch_storage_refs(std::string_view(bytes).substr(main_at), legacy_source(path, main_at), &main_len);
  const std::map<std::string, std::string_view> storages = legacy_storages(bytes, path, main_at + main_len, refs);
  PickleOptions options;
  options.torch = true;
  options.torch_storage = [&](const TorchStorageRef& ref) {
    const auto it = storages.find(ref.key);
    if (it == storages.end()) fail(path, "storage '" + ref.key + "' is used by a tensor but not stored in the file");
    return it->second;
  };
  return state_dict_from(
      parse_pickle(std::string_view(bytes).substr(main_at, main_len), legacy_source(path, main_at), options), path,
      TorchFileFormat::Legacy);
}

}  // namespace

const char* torch_file_format_name(TorchFileFormat format) {
  return format == TorchFileFormat::Zip ? "zip" : "legacy";
}

TorchStateDict read_torch_state_dict(const std::string& path) {
  if (has_zip_signature(path)) return read_zip(path);
  const std::string bytes = read_file(path);
  // The magic number follows PROTO (and a FRAME at protocols >= 4) and is followed by STOP.
  const std::size_t magic = bytes.substr(0, 32).find(kLegacyMagic);
  if (bytes.empty() || static_cast<unsigned char>(bytes[0]) != 0x80 || magic == std::string::npos ||
      magic + kLegacyMagic.size() >= bytes.size() || bytes[magic + kLegacyMagic.size()] != '.') {
    if (bytes.size() > 262 && bytes.compare(257, 5, "ustar") == 0) {
      fail(path, "a tar archive: the torch.save format of PyTorch < 0.4 is not supported; load and save it again "
                 "with a newer torch");
    }
    fail(path, "not a file written by torch.save: neither a ZIP archive (PyTorch >= 1.6) nor the legacy "
               "format's magic number");
  }
  return read_legacy(bytes, path, magic + kLegacyMagic.size() + 1);
}

}  // namespace mvtag
