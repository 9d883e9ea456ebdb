#include "mvtag/model/weights.h"

#include "mvtag/model/param_init.h"

#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include <torch/torch.h>

#include "mvtag/core/base/error.h"

namespace mvtag {

namespace fs = std::filesystem;

namespace {

const std::pair<DType, torch::ScalarType> kDtypes[] = {
    {DType::Bool, torch::kBool},  {DType::U8, torch::kUInt8},      {DType::I8, torch::kInt8},
    {DType::I16, torch::kInt16},  {DType::I32, torch::kInt32},     {DType::I64, torch::kInt64},
    {DType::F16, torch::kFloat16}, {DType::BF16, torch::kBFloat16}, {DType::F32, torch::kFloat32},
    {DType::F64, torch::kFloat64}};

torch::ScalarType to_scalar_type(DType dtype) {
  for (const auto& [d, s] : kDtypes) {
    if (d == dtype) return s;
  }
  throw_error(ErrorKind::Runtime, std::string("no torch dtype for ") + dtype_name(dtype));
}

DType to_dtype(torch::ScalarType type) {
  for (const auto& [d, s] : kDtypes) {
    if (s == type) return d;
  }
  throw_error(ErrorKind::Runtime, std::string("tensors of dtype ") + c10::toString(type) + " cannot be stored");
}

// Parameters and buffers by full name, in module order.
std::vector<std::pair<std::string, torch::Tensor>> named_state(const torch::nn::Module& module, const std::string& prefix) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : module.named_parameters()) out.emplace_back(prefix + item.key(), item.value());
  for (const auto& item : module.named_buffers()) out.emplace_back(prefix + item.key(), item.value());
  return out;
}

const std::map<std::string, std::string>& weights_metadata() {
  static const std::map<std::string, std::string> metadata = {{"producer", std::string("mvtag ") + MVTAG_VERSION}};
  return metadata;
}

}  // namespace

torch::Tensor tensor_from_ndarray(const NDArray& array) {
  const auto expected = static_cast<std::size_t>(array.numel()) * dtype_size(array.dtype);
  if (array.data.size() != expected) {
    throw_error(ErrorKind::Data, "array of shape " + shape_string(array.shape) + " and dtype " + dtype_name(array.dtype) +
                                     " holds " + std::to_string(array.data.size()) + " bytes, expected " +
                                     std::to_string(expected));
  }
  auto t = torch::empty(array.shape, torch::TensorOptions().dtype(to_scalar_type(array.dtype)));
  if (expected > 0) std::memcpy(t.data_ptr(), array.data.data(), expected);
  return t;
}

NDArray ndarray_from_tensor(const torch::Tensor& tensor) {
  NDArray a;
  a.dtype = to_dtype(tensor.scalar_type());
  a.shape = tensor.sizes().vec();
  const auto cpu = tensor.detach().to(torch::kCPU).contiguous();
  a.data.resize(static_cast<std::size_t>(cpu.numel()) * cpu.element_size());
  if (!a.data.empty()) std::memcpy(a.data.data(), cpu.data_ptr(), a.data.size());
  return a;
}

std::vector<NamedArray> module_arrays(const torch::nn::Module& module, const std::string& prefix) {
  std::vector<NamedArray> out;
  for (const auto& [name, tensor] : named_state(module, prefix)) out.push_back({name, ndarray_from_tensor(tensor)});
  return out;
}

void load_module_arrays(torch::nn::Module& module, const SafetensorsFile& file, const std::string& source,
                        const std::string& prefix) {
  const auto state = named_state(module, prefix);
  std::vector<std::string> problems;
  std::string first_name;
  const auto problem = [&](const std::string& name, const std::string& text) {
    if (first_name.empty()) first_name = name;
    problems.push_back(text);
  };
  std::set<std::string> expected_names;
  for (const auto& [name, tensor] : state) {
    expected_names.insert(name);
    const NDArray* array = file.find(name);
    if (!array) {
      problem(name, "missing tensor '" + name + "' " + shape_string(tensor.sizes().vec()));
      continue;
    }
    if (array->shape != tensor.sizes().vec()) {
      problem(name, "tensor '" + name + "' has shape " + shape_string(array->shape) + ", the network expects " +
                        shape_string(tensor.sizes().vec()));
    }
    const DType want = to_dtype(tensor.scalar_type());
    if (array->dtype != want) {
      problem(name, "tensor '" + name + "' has dtype " + dtype_name(array->dtype) + ", the network expects " +
                        dtype_name(want));
    }
  }
  for (const auto& t : file.tensors) {
    if (!expected_names.count(t.name)) problem(t.name, "unexpected tensor '" + t.name + "'");
  }
  if (!problems.empty()) {
    constexpr std::size_t kShown = 20;
    std::string message = "weights do not fit the network (" + std::to_string(problems.size()) + " problem" +
                          (problems.size() > 1 ? "s" : "") + "): ";
    for (std::size_t i = 0; i < problems.size() && i < kShown; ++i) message += (i ? "; " : "") + problems[i];
    if (problems.size() > kShown) message += "; and " + std::to_string(problems.size() - kShown) + " more";
    Location where = at_file(source);
    where.tensor = first_name;
    throw_error(ErrorKind::Model, message, where);
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : state) tensor.copy_(tensor_from_ndarray(*file.find(name)));
}

void save_weights(const torch::nn::Module& module, const std::string& path, const std::string& prefix) {
  write_safetensors(path, module_arrays(module, prefix), weights_metadata());
}

void load_weights(torch::nn::Module& module, const std::string& path, const std::string& prefix) {
  load_module_arrays(module, read_safetensors(path), path, prefix);
}

void save_ernie_weights(const ErnieImpl& ernie, const std::string& path) { save_weights(ernie, path, "ernie."); }

void load_ernie_weights(ErnieImpl& ernie, const std::string& path) { load_weights(ernie, path, "ernie."); }

void save_ernie_directory(const ErnieImpl& ernie, const std::string& dir) {
  write_ernie_config((fs::path(dir) / kErnieConfigFile).string(), ernie.config());
  save_ernie_weights(ernie, (fs::path(dir) / kErnieWeightsFile).string());
}

void load_ernie_directory(ErnieImpl& ernie, const std::string& dir) {
  const std::string config_path = (fs::path(dir) / kErnieConfigFile).string();
  const ErnieConfig stored = read_ernie_config(config_path);
  const ErnieConfig& mine = ernie.config();
  const std::pair<const char*, std::pair<std::int64_t, std::int64_t>> sizes[] = {
      {"vocab_size", {stored.vocab_size, mine.vocab_size}},
      {"hidden_size", {stored.hidden_size, mine.hidden_size}},
      {"num_hidden_layers", {stored.num_hidden_layers, mine.num_hidden_layers}},
      {"num_attention_heads", {stored.num_attention_heads, mine.num_attention_heads}},
      {"intermediate_size", {stored.intermediate_size, mine.intermediate_size}},
      {"max_position_embeddings", {stored.max_position_embeddings, mine.max_position_embeddings}},
      {"type_vocab_size", {stored.type_vocab_size, mine.type_vocab_size}}};
  for (const auto& [key, values] : sizes) {
    if (values.first != values.second) {
      Location where = at_file(config_path);
      where.key = key;
      throw_error(ErrorKind::Model, "the pretrained encoder has " + std::to_string(values.first) +
                                        ", the network is configured with " + std::to_string(values.second),
                  where);
    }
  }
  load_ernie_weights(ernie, (fs::path(dir) / kErnieWeightsFile).string());
}

void save_model_files(const VideoTagNetImpl& net, const std::string& dir) {
  write_net_config((fs::path(dir) / kModelConfigFile).string(), net.config());
  save_weights(net, (fs::path(dir) / kModelWeightsFile).string());
}

VideoTagNet load_model(const std::string& dir, const torch::Device& device) {
  const NetConfig config = read_net_config((fs::path(dir) / kModelConfigFile).string());
  VideoTagNet net = [&] {
    SkipInitialisation skip;  // every weight is loaded next
    return VideoTagNet(config);
  }();
  load_weights(*net, (fs::path(dir) / kModelWeightsFile).string());
  net->to(device);
  net->eval();
  return net;
}

}  // namespace mvtag
