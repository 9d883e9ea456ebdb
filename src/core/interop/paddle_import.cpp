#include "mvtag/core/interop/paddle_import.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <map>
#include <set>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/formats/paddle_tensor.h"
#include "mvtag/core/interop/paddle_names.h"

namespace mvtag {

namespace fs = std::filesystem;

namespace {

std::string spec_text(const ParamSpec& s) { return s.name + " " + shape_string(s.shape); }

// Why a record may not fit: the other pooling mode, the ERNIE config, or the network sizes.
std::string mismatch_hint(const NetConfig& config, std::size_t index, const std::vector<std::int64_t>& found) {
  NetConfig other = config;
  other.lstm_pool_mode = config.text_guided() ? "self_attention" : "text_guide";
  const std::vector<ParamMapping> alt = paddle_checkpoint_mapping(other);
  if (index < alt.size() && alt[index].paddle.shape == found) {
    return "is lstm_pool_mode right? (" + std::string(config.text_guided() ? "a self-attention" : "a text_guide") +
           " checkpoint has " + spec_text(alt[index].paddle) + " here)";
  }
  const std::string name = paddle_checkpoint_mapping(config)[index].paddle.name;
  for (const ParamMapping& m : paddle_ernie_mapping(config.ernie)) {
    if (m.paddle.name == name) return "does the ERNIE config match the checkpoint's encoder?";
  }
  return "do MODEL.num_classes, lstm_size_img, lstm_size_audio, feature_dims and lstm_pool_mode match the "
         "checkpoint?";
}

}  // namespace

std::string find_paddle_params(const std::string& dir_or_file) {
  if (!is_directory(dir_or_file)) {
    if (!path_exists(dir_or_file)) throw_error(ErrorKind::Io, "no such file or directory", at_file(dir_or_file));
    return dir_or_file;
  }
  for (const char* name : {"param", "params"}) {
    const std::string path = (fs::path(dir_or_file) / name).string();
    if (path_exists(path) && !is_directory(path)) return path;
  }
  throw_error(ErrorKind::Io,
              "holds neither 'param' (a training checkpoint, e.g. checkpoints_save/) nor 'params' (an inference "
              "model): pass the combined parameter file itself",
              at_file(dir_or_file));
}

std::vector<NamedArray> import_paddle_params(const std::string& path, const NetConfig& config) {
  const std::vector<ParamMapping> mapping = paddle_checkpoint_mapping(config);
  PaddleTensorReader reader(path);
  std::vector<NamedArray> out;
  for (std::size_t i = 0; i < mapping.size(); ++i) {
    const ParamSpec& expected = mapping[i].paddle;
    if (reader.at_end()) {
      throw_error(ErrorKind::Model,
                  "the file ends after " + std::to_string(i) + " tensors (" + std::to_string(reader.size()) +
                      " bytes); this configuration has " + std::to_string(mapping.size()) + ", the next being " +
                      spec_text(expected) + " — " + mismatch_hint(config, i, {}),
                  at_file(path));
    }
    PaddleTensor t = reader.next(expected.name);
    const std::string where = "tensor #" + std::to_string(t.index) + " at byte " + std::to_string(t.offset) + ": ";
    if (t.array.shape != expected.shape) {
      throw_error(ErrorKind::Model,
                  where + "expected " + spec_text(expected) + ", found " + shape_string(t.array.shape) + " — " +
                      mismatch_hint(config, i, t.array.shape),
                  at_file(path));
    }
    if (t.array.dtype != DType::F32) {
      throw_error(ErrorKind::Model,
                  where + "expected " + expected.name + " as float32 (FP32), found " + dtype_name(t.array.dtype),
                  at_file(path));
    }
    if (!t.lod.empty()) spdlog::warn("{}: {}{} has LoD information, which is ignored", path, where, expected.name);
    for (NamedArray& a : paddle_to_ours(mapping[i], t.array)) out.push_back(std::move(a));
  }
  if (!reader.at_end()) {
    throw_error(ErrorKind::Model,
                "tensor #" + std::to_string(mapping.size()) + " at byte " + std::to_string(reader.offset()) +
                    ": the file holds more than the " + std::to_string(mapping.size()) +
                    " tensors this configuration has (" + std::to_string(reader.size() - reader.offset()) +
                    " bytes left) — is lstm_pool_mode right? does the ERNIE config have as many layers?",
                at_file(path));
  }
  spdlog::info("{}: {} Paddle tensors read in sorted-name order ({} tensors of ours)", path, mapping.size(), out.size());
  return out;
}

void export_paddle_params(const std::string& path, const NetConfig& config, const std::vector<NamedArray>& ours) {
  std::map<std::string, const NDArray*> by_name;
  std::vector<std::string> problems;
  for (const NamedArray& a : ours) {
    if (!by_name.emplace(a.name, &a.array).second) problems.push_back("'" + a.name + "' given twice");
  }
  const std::vector<ParamMapping> mapping = paddle_checkpoint_mapping(config);
  std::set<std::string> used;
  std::vector<NDArray> arrays;
  for (const ParamMapping& m : mapping) {
    std::vector<const NDArray*> parts;
    for (const ParamSpec& spec : m.ours) {
      used.insert(spec.name);
      const auto it = by_name.find(spec.name);
      if (it == by_name.end()) {
        problems.push_back("missing " + spec_text(spec));
      } else if (it->second->shape != spec.shape || it->second->dtype != DType::F32) {
        problems.push_back("'" + spec.name + "' is " + shape_string(it->second->shape) + " " +
                           dtype_name(it->second->dtype) + ", expected " + shape_string(spec.shape) + " float32");
      }
      parts.push_back(it == by_name.end() ? nullptr : it->second);
    }
    if (problems.empty()) arrays.push_back(ours_to_paddle(m, parts));
  }
  for (const auto& [name, array] : by_name) {
    if (!used.count(name)) problems.push_back("unexpected '" + name + "'");
  }
  if (!problems.empty()) {
    std::string text;
    for (const std::string& p : problems) text += (text.empty() ? "" : "; ") + p;
    throw_error(ErrorKind::Model, "cannot export to the original's layout: " + text, at_file(path));
  }
  write_paddle_combined(path, arrays);
}

}  // namespace mvtag
