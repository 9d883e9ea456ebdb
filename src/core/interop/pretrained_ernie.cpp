#include "mvtag/core/interop/pretrained_ernie.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/formats/paddle_tensor.h"
#include "mvtag/core/formats/torch_checkpoint.h"
#include "mvtag/core/interop/paddle_names.h"

namespace mvtag {

namespace fs = std::filesystem;

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

std::string list(const std::vector<std::string>& items, std::size_t max = 8) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < max; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > max) out += ", ... (" + std::to_string(items.size()) + " in all)";
  return out;
}

// Collects the encoder's tensors under our names, converting floating dtypes to float32, and
// every problem, so one error can name them all.
class EncoderTensors {
 public:
  EncoderTensors(const ErnieConfig& config, std::string source) : source_(std::move(source)) {
    for (const ParamSpec& s : ernie_parameter_specs(config)) specs_.push_back(s);
  }

  bool expects(const std::string& ours) const { return spec(ours) != nullptr; }

  // `from` is the tensor's name in the file (for messages).
  void add(const std::string& ours, NDArray array, const std::string& from) {
    const ParamSpec* s = spec(ours);
    if (s == nullptr) {
      problems_.push_back("unexpected '" + from + "'");
    } else if (!found_.emplace(ours, from).second) {
      problems_.push_back("'" + from + "' and '" + found_[ours] + "' are both " + ours);
    } else if (array.shape != s->shape) {
      problems_.push_back("'" + from + "' is " + shape_string(array.shape) + ", expected " + shape_string(s->shape));
    } else if (!is_floating(array.dtype)) {
      problems_.push_back("'" + from + "' is " + dtype_name(array.dtype) + ", expected floating point");
    } else {
      if (array.dtype != DType::F32) {
        converted_.push_back(dtype_name(array.dtype));
        array = NDArray::from_float(array.shape, array.to_float());
      }
      arrays_[ours] = std::move(array);
    }
  }
  // A problem with the file of `covers`, which are then not reported missing as well.
  void problem(std::string text, const std::vector<ParamSpec>& covers = {}) {
    problems_.push_back(std::move(text));
    for (const ParamSpec& s : covers) found_.emplace(s.name, "");
  }

  // The tensors in module order; throws listing every problem and every missing tensor.
  SafetensorsFile finish() {
    for (const ParamSpec& s : specs_) {
      if (!found_.count(s.name)) problems_.push_back("missing " + s.name + " " + shape_string(s.shape));
    }
    if (!problems_.empty()) {
      std::string text;
      for (const std::string& p : problems_) text += "\n  " + p;
      throw_error(ErrorKind::Model,
                  "the ERNIE weights do not fit the configuration (" + std::to_string(problems_.size()) +
                      " problems):" + text,
                  at_file(source_));
    }
    if (!converted_.empty()) spdlog::info("{}: {} tensors converted to float32 (from {})", source_, converted_.size(), converted_.front());
    SafetensorsFile out;
    for (const ParamSpec& s : specs_) out.tensors.push_back(NamedArray{s.name, std::move(arrays_[s.name])});
    return out;
  }

 private:
  const ParamSpec* spec(const std::string& ours) const {
    for (const ParamSpec& s : specs_) {
      if (s.name == ours) return &s;
    }
    return nullptr;
  }

  std::string source_;
  std::vector<ParamSpec> specs_;
  std::map<std::string, std::string> found_;  // ours -> name in the file
  std::map<std::string, NDArray> arrays_;
  std::vector<std::string> problems_;
  std::vector<std::string> converted_;
};

// ---------------------------------------------------------------------------------------------
// The original's Paddle parameter directory.

bool is_paddle_parameter_name(const std::string& name) {
  return name == "word_embedding" || name == "pos_embedding" || name == "sent_embedding" ||
         starts_with(name, "pre_encoder_") || starts_with(name, "encoder_layer_");
}

// Parts of the ERNIE 1.0 release the tagger never uses (docs/FORMATS.md), and the task embedding of
// later ERNIE releases (the original runs without one).
bool is_unused_paddle_file(const std::string& name) {
  return starts_with(name, "pooled_fc.") || starts_with(name, "mask_lm_") || starts_with(name, "next_sent_fc.") ||
         name == "task_embedding";
}

SafetensorsFile read_paddle_directory(const std::string& dir, const ErnieConfig& config, std::vector<std::string>& unused) {
  EncoderTensors tensors(config, dir);
  std::vector<std::string> expected;
  for (const ParamMapping& m : paddle_ernie_mapping(config)) {
    expected.push_back(m.paddle.name);
    const std::string path = (fs::path(dir) / m.paddle.name).string();
    if (!path_exists(path)) {
      tensors.problem("missing file " + m.paddle.name + " " + shape_string(m.paddle.shape), m.ours);
      continue;
    }
    const NDArray paddle = read_paddle_tensor(path);
    if (paddle.shape != m.paddle.shape) {
      tensors.problem("'" + m.paddle.name + "' is " + shape_string(paddle.shape) + ", expected " +
                          shape_string(m.paddle.shape),
                      m.ours);
      continue;
    }
    for (NamedArray& a : paddle_to_ours(m, paddle)) tensors.add(a.name, std::move(a.array), m.paddle.name);
  }
  std::vector<std::string> others;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || std::find(expected.begin(), expected.end(), name) != expected.end()) continue;
    if (is_unused_paddle_file(name)) {
      unused.push_back(name);
    } else if (is_paddle_parameter_name(name)) {
      tensors.problem("unexpected parameter file '" + name + "' (more layers than num_hidden_layers?)");
    } else if (name != "vocab.txt" && name != "ernie_config.json" && name != "config.json") {
      others.push_back(name);
    }
  }
  SafetensorsFile out = tensors.finish();
  std::sort(unused.begin(), unused.end());
  spdlog::info("ERNIE weights: Paddle parameter directory ({} files, {} unused)", expected.size() + unused.size(),
               unused.size());
  if (!unused.empty()) spdlog::info("  unused by the tagger, ignored: {}", list(unused));
  if (!others.empty()) spdlog::warn("{}: files that are not ERNIE parameters, ignored: {}", dir, list(others));
  return out;
}

// ---------------------------------------------------------------------------------------------
// HuggingFace-style checkpoints (transformers' ErnieModel/BertModel naming, models/ernie/modeling_ernie.py).

// HF name (without prefix) -> ours, both LayerNorm spellings included.
std::map<std::string, std::string> huggingface_names(const ErnieConfig& config) {
  std::map<std::string, std::string> out = {
      {"embeddings.word_embeddings.weight", "ernie.word_embeddings.weight"},
      {"embeddings.position_embeddings.weight", "ernie.position_embeddings.weight"},
      {"embeddings.token_type_embeddings.weight", "ernie.sentence_embeddings.weight"},
  };
  const auto norm = [&out](const std::string& hf, const std::string& ours) {
    out[hf + ".weight"] = out[hf + ".gamma"] = ours + ".weight";
    out[hf + ".bias"] = out[hf + ".beta"] = ours + ".bias";
  };
  const auto linear = [&out](const std::string& hf, const std::string& ours) {
    out[hf + ".weight"] = ours + ".weight";
    out[hf + ".bias"] = ours + ".bias";
  };
  norm("embeddings.LayerNorm", "ernie.embedding_norm");
  for (std::int64_t i = 0; i < config.num_hidden_layers; ++i) {
    const std::string h = "encoder.layer." + std::to_string(i) + ".", o = "ernie.layers." + std::to_string(i) + ".";
    for (const char* part : {"query", "key", "value"}) linear(h + "attention.self." + part, o + "attention." + part);
    linear(h + "attention.output.dense", o + "attention.output");
    norm(h + "attention.output.LayerNorm", o + "attention_norm");
    linear(h + "intermediate.dense", o + "ffn_in");
    linear(h + "output.dense", o + "ffn_out");
    norm(h + "output.LayerNorm", o + "ffn_norm");
  }
  return out;
}

// Heads and buffers a checkpoint may carry that the encoder does not use.
bool is_unused_huggingface_tensor(const std::string& name, const std::string& prefix) {
  if (starts_with(name, "cls.") || starts_with(name, prefix + "pooler.")) return true;
  const std::string rest = starts_with(name, prefix) ? name.substr(prefix.size()) : "";
  return rest == "embeddings.position_ids" || rest == "embeddings.token_type_ids" ||
         rest == "embeddings.task_type_embeddings.weight";
}

std::string huggingface_prefix(const std::vector<NamedArray>& tensors, const std::string& source) {
  std::vector<std::string> found;
  for (const char* prefix : {"", "ernie.", "bert."}) {
    for (const NamedArray& t : tensors) {
      if (t.name == std::string(prefix) + "embeddings.word_embeddings.weight") found.push_back(prefix);
    }
  }
  if (found.size() != 1) {
    throw_error(ErrorKind::Model,
                found.empty() ? "no embeddings.word_embeddings.weight (with prefix '', 'ernie.' or 'bert.'): not an "
                                "ERNIE/BERT checkpoint"
                              : "embeddings under several prefixes ('" + list(found) + "'): which encoder is meant?",
                at_file(source));
  }
  return found.front();
}

SafetensorsFile read_huggingface_tensors(std::vector<NamedArray> raw, const std::string& source,
                                         const ErnieConfig& config, std::vector<std::string>& unused,
                                         std::string* prefix_out) {
  const std::string prefix = huggingface_prefix(raw, source);
  const std::map<std::string, std::string> names = huggingface_names(config);
  EncoderTensors tensors(config, source);
  for (NamedArray& t : raw) {
    const auto it = starts_with(t.name, prefix) ? names.find(t.name.substr(prefix.size())) : names.end();
    if (it != names.end()) {
      tensors.add(it->second, std::move(t.array), t.name);
    } else if (is_unused_huggingface_tensor(t.name, prefix)) {
      unused.push_back(t.name);
    } else {
      tensors.problem("unexpected '" + t.name + "' " + shape_string(t.array.shape));
    }
  }
  *prefix_out = prefix;
  return tensors.finish();
}

// ---------------------------------------------------------------------------------------------

std::string first_existing(const std::string& dir, const std::vector<std::string>& names) {
  for (const std::string& n : names) {
    const std::string path = (fs::path(dir) / n).string();
    if (path_exists(path)) return path;
  }
  return "";
}

SafetensorsFile read_mvtag_weights(const std::string& path, const ErnieConfig& config) {
  EncoderTensors tensors(config, path);
  for (NamedArray& t : read_safetensors(path).tensors) tensors.add(t.name, std::move(t.array), t.name);
  SafetensorsFile out = tensors.finish();
  spdlog::info("ERNIE weights: mvtag directory ({}, {} tensors)", path, out.tensors.size());
  return out;
}

SafetensorsFile read_huggingface_file(const std::string& path, const ErnieConfig& config, std::vector<std::string>& unused) {
  std::vector<NamedArray> raw;
  std::string container;
  if (path.size() >= 12 && path.compare(path.size() - 12, 12, ".safetensors") == 0) {
    raw = read_safetensors(path).tensors;
    container = "safetensors";
  } else {
    TorchStateDict sd = read_torch_state_dict(path);
    raw = std::move(sd.tensors);
    container = std::string("torch.save ") + torch_file_format_name(sd.format) + " format" +
                (sd.nested_key.empty() ? "" : ", state dict under '" + sd.nested_key + "'");
  }
  std::string prefix;
  SafetensorsFile out = read_huggingface_tensors(std::move(raw), path, config, unused, &prefix);
  spdlog::info("ERNIE weights: HuggingFace directory ({}, {}, prefix '{}', {} tensors used, {} unused)", path,
               container, prefix, out.tensors.size(), unused.size());
  if (!unused.empty()) spdlog::info("  unused by the tagger, ignored: {}", list(unused));
  return out;
}

}  // namespace

void check_vocab_fits(const Vocab& vocab, const ErnieConfig& config, const std::string& vocab_path) {
  if (vocab.max_id() >= config.vocab_size) {
    throw_error(ErrorKind::Model,
                "vocabulary ids go up to " + std::to_string(vocab.max_id()) + " but the encoder has " +
                    std::to_string(config.vocab_size) + " embedding rows",
                at_file(vocab_path));
  }
}

ErnieDirectory detect_ernie_directory(const std::string& dir, bool need_vocab) {
  if (!is_directory(dir)) {
    throw_error(ErrorKind::Io, "ERNIE directory (TRAIN.ernie_pretrain_dict_path) not found", at_file(dir));
  }
  ErnieDirectory out;
  out.dir = dir;
  out.vocab_path = (fs::path(dir) / "vocab.txt").string();
  if (!path_exists(out.vocab_path)) {
    if (need_vocab) throw_error(ErrorKind::Io, "vocab.txt is missing", at_file(dir));
    out.vocab_path.clear();
  }

  // Detection, in order: our own weights, the original's Paddle files, HuggingFace files.
  const std::string mvtag_weights = (fs::path(dir) / "ernie.safetensors").string();
  const std::string paddle_probe = first_existing(dir, {"word_embedding", "encoder_layer_0_multi_head_att_query_fc.w_0"});
  const std::string hf_weights = first_existing(dir, {"model.safetensors", "pytorch_model.bin"});
  std::string probes;
  if (path_exists(mvtag_weights)) {
    out.format = "mvtag";
    out.source = mvtag_weights;
    probes = "ernie.safetensors found";
  } else if (!paddle_probe.empty()) {
    out.format = "paddle";
    out.source = dir;
    probes = "no ernie.safetensors; Paddle parameter files found";
  } else if (!hf_weights.empty()) {
    out.format = "huggingface";
    out.source = hf_weights;
    probes = "no ernie.safetensors, no Paddle parameter files; " + fs::path(hf_weights).filename().string() + " found";
  } else {
    out.format = "none";
    probes = "no ernie.safetensors, no Paddle parameter files, no model.safetensors or pytorch_model.bin";
  }
  spdlog::info("ERNIE directory {}: {}", dir, probes);

  const bool hf = out.format == "huggingface";
  out.config_path = hf ? first_existing(dir, {"config.json", "ernie_config.json"})
                       : first_existing(dir, {"ernie_config.json", "config.json"});
  if (out.config_path.empty()) {
    throw_error(ErrorKind::Io, "neither ernie_config.json nor config.json is present", at_file(dir));
  }
  out.config = read_ernie_config(out.config_path);
  return out;
}

PretrainedErnie read_pretrained_ernie(const std::string& dir) {
  PretrainedErnie out;
  static_cast<ErnieDirectory&>(out) = detect_ernie_directory(dir);
  const bool hf = out.format == "huggingface";
  if (out.format == "mvtag") {
    out.weights = read_mvtag_weights(out.source, out.config);
  } else if (out.format == "paddle") {
    out.weights = read_paddle_directory(dir, out.config, out.unused);
  } else if (hf) {
    if (path_exists((fs::path(dir) / "model.safetensors").string()) &&
        path_exists((fs::path(dir) / "pytorch_model.bin").string())) {
      spdlog::info("{}: model.safetensors and pytorch_model.bin both present; reading model.safetensors", dir);
    }
    out.weights = read_huggingface_file(out.source, out.config, out.unused);
  }
  return out;
}

void write_ernie_directory(const PretrainedErnie& ernie, const std::string& out_dir) {
  if (ernie.weights.tensors.empty()) {
    throw_error(ErrorKind::Data, "holds no ERNIE weights to convert (only a config and a vocabulary)", at_file(ernie.dir));
  }
  AtomicDirectory staging(out_dir);
  write_safetensors((fs::path(staging.staging()) / "ernie.safetensors").string(), ernie.weights.tensors,
                    {{"producer", std::string("mvtag ") + MVTAG_VERSION}, {"converted_from", ernie.format}});
  write_ernie_config((fs::path(staging.staging()) / "ernie_config.json").string(), ernie.config);
  write_file_atomic((fs::path(staging.staging()) / "vocab.txt").string(), read_file(ernie.vocab_path));
  staging.commit();
}

}  // namespace mvtag
