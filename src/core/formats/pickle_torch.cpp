// torch.save's state dicts in pickles (PickleOptions::torch only): collections.OrderedDict, the
// tensor and parameter rebuilders, the storage types of the dtypes NDArray has, and storages
// named by persistent ids. A tensor becomes an Array copied into C order from its storage's
// offset, sizes and strides, after checking that the view stays inside the storage.
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "mvtag/core/base/error.h"
#include "pickle_internal.h"

namespace mvtag::pickle_internal {

namespace {

// collections.OrderedDict(): a dict.
Ref reduce_ordered_dict(Machine& m, const PickleGlobal&, const std::vector<Ref>& args) {
  if (!args.empty()) m.fail("collections.OrderedDict with arguments is not supported");
  return m.add_seq(Kind::Dict, {});
}

// An OrderedDict's instance attributes (a state dict's `_metadata`): not part of the mapping.
void build_ordered_dict(Machine& m, Ref, Ref state) {
  if (m.node(state).kind != Kind::Dict) m.fail("the state of an OrderedDict must be a dict, got " + m.what(state));
}

// The elements a strided view of `storage` selects, in C order.
NDArray strided_copy(const StorageView& storage, std::int64_t offset, std::vector<std::int64_t> shape,
                     const std::vector<std::int64_t>& strides) {
  const std::size_t itemsize = dtype_size(storage.ref.dtype);
  NDArray a;
  a.dtype = storage.ref.dtype;
  a.shape = std::move(shape);
  const std::size_t ndim = a.shape.size();
  a.data.resize(static_cast<std::size_t>(a.numel()) * itemsize);
  if (a.data.empty()) return a;
  const auto* src = reinterpret_cast<const std::uint8_t*>(storage.bytes.data());
  bool contiguous = true;
  for (std::size_t k = ndim, expect = 1; k-- > 0;) {
    if (a.shape[k] != 1 && static_cast<std::size_t>(strides[k]) != expect) contiguous = false;
    expect *= static_cast<std::size_t>(a.shape[k]);
  }
  if (contiguous) {
    std::memcpy(a.data.data(), src + static_cast<std::size_t>(offset) * itemsize, a.data.size());
    return a;
  }
  // Innermost dimension in a loop, the outer ones counted in idx.
  const std::int64_t inner = ndim == 0 ? 1 : a.shape[ndim - 1];
  const std::int64_t inner_stride = ndim == 0 ? 0 : strides[ndim - 1];
  std::vector<std::int64_t> idx(ndim, 0);
  std::uint8_t* dst = a.data.data();
  for (std::size_t row = 0, rows = a.data.size() / itemsize / static_cast<std::size_t>(inner); row < rows; ++row) {
    std::int64_t base = offset;
    for (std::size_t k = 0; k + 1 < ndim; ++k) base += idx[k] * strides[k];
    for (std::int64_t j = 0; j < inner; ++j, dst += itemsize) {
      std::memcpy(dst, src + static_cast<std::size_t>(base + j * inner_stride) * itemsize, itemsize);
    }
    for (std::size_t k = ndim - 1; k-- > 0;) {
      if (++idx[k] < a.shape[k]) break;
      idx[k] = 0;
    }
  }
  return a;
}

// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]).
Ref reduce_rebuild_tensor(Machine& m, const PickleGlobal&, const std::vector<Ref>& args) {
  if (args.size() != 6 && args.size() != 7) {
    m.fail("_rebuild_tensor_v2 expects 6 or 7 arguments, got " + std::to_string(args.size()));
  }
  if (m.node(args[0]).kind != Kind::TorchStorage) m.fail("_rebuild_tensor_v2 of " + m.what(args[0]) + ", expected a storage");
  const StorageView& storage = *m.node(args[0]).storage;
  const std::int64_t offset = m.int_of(args[1], "the storage offset");
  std::vector<std::int64_t> shape = m.shape_of(args[2]);
  std::vector<std::int64_t> strides;
  for (Ref r : m.tuple_items(args[3], "the tensor strides")) strides.push_back(m.int_of(r, "a stride"));
  const Node& hooks = m.node(args[5]);
  if (hooks.kind != Kind::Dict || !hooks.items.empty()) m.fail("tensors with backward hooks are not supported");
  if (args.size() == 7 && m.node(args[6]).kind != Kind::None && m.node(args[6]).kind != Kind::Dict) {
    m.fail("tensor metadata must be None or a dict, got " + m.what(args[6]));
  }
  if (strides.size() != shape.size()) {
    m.fail("tensor of shape " + shape_string(shape) + " with " + std::to_string(strides.size()) + " strides");
  }
  if (m.collected_storages() != nullptr) return kNoneRef;
  std::uint64_t nbytes = 0;
  const std::string problem = tensor_size_problem(storage.ref.dtype, shape, &nbytes);
  if (!problem.empty()) m.fail("tensor: " + problem);
  const std::string view = "tensor of shape " + shape_string(shape) + ", strides " + shape_string(strides) +
                           " and offset " + std::to_string(offset) + " on storage '" + printable(storage.ref.key) +
                           "' (" + std::to_string(storage.ref.numel) + " elements)";
  // A state dict's tensors never overlap themselves, so none is larger than its storage.
  if (nbytes > storage.bytes.size()) m.fail(view + ": more elements than the storage holds");
  if (offset < 0) m.fail(view + ": negative offset");
  if (nbytes > 0) {
    std::int64_t last = offset;  // the last element read, checked against the storage step by step
    for (std::size_t k = 0; k < shape.size(); ++k) {
      if (strides[k] < 0) m.fail(view + ": negative stride");
      if (strides[k] > 0 && shape[k] - 1 > (storage.ref.numel - 1 - last) / strides[k]) {
        m.fail(view + ": reads beyond the end of the storage");
      }
      last += (shape[k] - 1) * strides[k];
    }
    if (last >= storage.ref.numel) m.fail(view + ": reads beyond the end of the storage");
  }
  Node n;
  n.kind = Kind::Array;
  n.array = std::make_unique<NDArray>(strided_copy(storage, offset, std::move(shape), strides));
  return m.add(std::move(n));
}

// _rebuild_parameter(data, requires_grad, backward_hooks): the tensor itself.
Ref reduce_rebuild_parameter(Machine& m, const PickleGlobal&, const std::vector<Ref>& args) {
  if (args.size() != 3) m.fail("_rebuild_parameter expects 3 arguments, got " + std::to_string(args.size()));
  if (m.node(args[0]).kind != Kind::Array && m.collected_storages() == nullptr) {
    m.fail("_rebuild_parameter of " + m.what(args[0]) + ", expected a tensor");
  }
  const Node& hooks = m.node(args[2]);
  if (hooks.kind != Kind::Dict || !hooks.items.empty()) m.fail("parameters with backward hooks are not supported");
  return args[0];
}

// A storage type: named in persistent ids, never called.
PickleGlobal storage_type(std::string_view module, std::string_view name, DType dtype) {
  PickleGlobal g;
  g.module = module;
  g.name = name;
  g.storage_dtype = dtype;
  return g;
}

}  // namespace

const std::vector<PickleGlobal>& torch_pickle_globals() {
  // Storages of dtypes NDArray lacks (complex, quantized) are not listed, so they are refused.
  static const std::vector<PickleGlobal> globals = {
      {"collections", "OrderedDict", reduce_ordered_dict, build_ordered_dict},
      {"torch._utils", "_rebuild_tensor_v2", reduce_rebuild_tensor},
      {"torch._utils", "_rebuild_parameter", reduce_rebuild_parameter},
      storage_type("torch", "FloatStorage", DType::F32),
      storage_type("torch", "DoubleStorage", DType::F64),
      storage_type("torch", "HalfStorage", DType::F16),
      storage_type("torch", "BFloat16Storage", DType::BF16),
      storage_type("torch", "LongStorage", DType::I64),
      storage_type("torch", "IntStorage", DType::I32),
      storage_type("torch", "ShortStorage", DType::I16),
      storage_type("torch", "CharStorage", DType::I8),
      storage_type("torch", "ByteStorage", DType::U8),
      storage_type("torch", "BoolStorage", DType::Bool),
      storage_type("torch", "UntypedStorage", DType::U8),
      storage_type("torch.storage", "UntypedStorage", DType::U8),
  };
  return globals;
}

// torch.save's storage ids: ('storage', storage type, key, location, numel) in the zip format;
// the legacy format adds a sixth item, a view, which is None since PyTorch 1.0.
Ref torch_persistent_load(Machine& m, Ref pid) {
  const std::vector<Ref> items = m.tuple_items(pid, "a persistent id");
  if (items.size() != 5 && items.size() != 6) {
    m.fail("persistent id with " + std::to_string(items.size()) +
           " items; expected ('storage', storage type, key, location, numel)");
  }
  const std::string kind = m.text_arg(items[0], "the persistent id's kind");
  if (kind != "storage") m.fail("persistent id of kind '" + printable(kind) + "' (only 'storage' is supported)");
  const Node& type = m.node(items[1]);
  if (type.kind != Kind::Global || !type.global->storage_dtype) {
    m.fail("persistent id: " + m.what(items[1]) + " is not a torch storage type");
  }
  if (items.size() == 6 && m.node(items[5]).kind != Kind::None) {
    m.fail("storage views (files written before PyTorch 1.0) are not supported");
  }
  TorchStorageRef ref;
  ref.key = m.text_arg(items[2], "the storage key");
  ref.location = m.text_arg(items[3], "the storage location");
  ref.dtype = *type.global->storage_dtype;
  ref.numel = m.int_of(items[4], "the storage size");
  std::uint64_t expected = 0;
  const std::string problem = tensor_size_problem(ref.dtype, {ref.numel}, &expected);
  if (!problem.empty()) m.fail("storage of " + std::to_string(ref.numel) + " elements: " + problem);
  Node n;
  n.kind = Kind::TorchStorage;
  if (m.collected_storages() != nullptr) {
    m.collected_storages()->push_back(ref);
    n.storage = std::make_unique<StorageView>(StorageView{std::move(ref), {}});
    return m.add(std::move(n));
  }
  std::string_view bytes;
  try {
    bytes = m.options().torch_storage(ref);
  } catch (const Error& e) {
    m.fail("storage '" + printable(ref.key) + "': " + e.message());
  }
  if (bytes.size() != expected) {
    m.fail("storage '" + printable(ref.key) + "' holds " + std::to_string(bytes.size()) + " bytes, but its id says " +
           std::to_string(ref.numel) + " " + dtype_name(ref.dtype) + " elements (" + std::to_string(expected) + " bytes)");
  }
  m.count_storage_bytes(bytes.size());
  n.storage = std::make_unique<StorageView>(StorageView{std::move(ref), bytes});
  return m.add(std::move(n));
}

}  // namespace mvtag::pickle_internal
