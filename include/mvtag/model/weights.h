// Weight files: a module's parameters as safetensors (see docs/FORMATS.md), loaded strictly,
// plus the NDArray <-> torch::Tensor conversion used at the edge between core readers and LibTorch.
#pragma once

#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "mvtag/core/formats/ndarray.h"
#include "mvtag/core/formats/safetensors.h"
#include "mvtag/model/ernie.h"
#include "mvtag/model/model.h"

namespace mvtag {

// A model directory: the weights, the config they belong to, and the vocabularies.
inline constexpr const char* kModelWeightsFile = "model.safetensors";
inline constexpr const char* kModelConfigFile = "model.json";
inline constexpr const char* kVocabFile = "vocab.txt";
inline constexpr const char* kClassFile = "class.txt";
// A pretrained-encoder directory (the original's ernie_v1_params/ equivalent).
inline constexpr const char* kErnieWeightsFile = "ernie.safetensors";
inline constexpr const char* kErnieConfigFile = "ernie_config.json";

// A CPU tensor holding a copy of the array (any NDArray dtype).
torch::Tensor tensor_from_ndarray(const NDArray& array);
// A copy of the tensor's values (from any device) as a row-major array. Throws Error(Runtime)
// for dtypes NDArray lacks.
NDArray ndarray_from_tensor(const torch::Tensor& tensor);

// The module's parameters and buffers as named arrays, names prefixed with `prefix`.
std::vector<NamedArray> module_arrays(const torch::nn::Module& module, const std::string& prefix = "");
// Copies `file`'s tensors into the module. Strict: every parameter and buffer (named `prefix` +
// its name) must be present with the same shape and dtype, and nothing else may be in the file.
// Otherwise throws Error(Model) naming `source` and listing every missing, unexpected,
// mis-shaped and mis-typed tensor by name, before anything is copied.
void load_module_arrays(torch::nn::Module& module, const SafetensorsFile& file, const std::string& source,
                        const std::string& prefix = "");

void save_weights(const torch::nn::Module& module, const std::string& path, const std::string& prefix = "");
void load_weights(torch::nn::Module& module, const std::string& path, const std::string& prefix = "");

// ERNIE alone, under the names it has inside the whole model ("ernie.word_embeddings.weight", ...).
void save_ernie_weights(const ErnieImpl& ernie, const std::string& path);
void load_ernie_weights(ErnieImpl& ernie, const std::string& path);
// A pretrained-encoder directory: ernie.safetensors + ernie_config.json. Loading checks that the
// directory's config has the encoder's sizes (Error(Model) naming the key) before the weights.
void save_ernie_directory(const ErnieImpl& ernie, const std::string& dir);
void load_ernie_directory(ErnieImpl& ernie, const std::string& dir);

// model.safetensors + model.json into an existing directory (the caller adds vocab.txt and
// class.txt, and makes the directory atomic with AtomicDirectory).
void save_model_files(const VideoTagNetImpl& net, const std::string& dir);
// Rebuilds the network from dir/model.json, loads dir/model.safetensors, moves it to `device`
// and puts it in eval mode.
VideoTagNet load_model(const std::string& dir, const torch::Device& device = torch::kCPU);

}  // namespace mvtag
