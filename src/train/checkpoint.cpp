#include "mvtag/train/checkpoint.h"

#include <filesystem>
#include <map>

#include <ATen/Context.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/formats/safetensors.h"
#include "mvtag/model/weights.h"

namespace mvtag {

namespace fs = std::filesystem;

namespace {


nlohmann::json state_to_json(const TrainState& s) {
  nlohmann::json history = nlohmann::json::array();
  for (const auto& p : s.history) {
    nlohmann::json h = {{"epoch", p.epoch}, {"train_loss", p.train_loss}, {"train_hit1", p.train_hit1}};
    if (p.val_loss) h["val_loss"] = *p.val_loss;
    if (p.val_hit1) h["val_hit1"] = *p.val_hit1;
    history.push_back(h);
  }
  return {{"epoch", s.epoch},
          {"step", s.step},
          {"batch_in_epoch", s.batch_in_epoch},
          {"best_hit1", s.validation.best_hit1},
          {"best_epoch", s.validation.best_epoch},
          {"bad_validations", s.validation.bad_validations},
          {"seed", s.seed},
          {"history", history},
          {"cpu_rng", s.cpu_rng},
          {"cuda_rng", s.cuda_rng}};
}

std::string hex_encode(const std::uint8_t* data, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 15];
  }
  return out;
}

}  // namespace

void save_checkpoint(const std::string& dir, const VideoTagNetImpl& net, const Vocab& vocab,
                     const ClassMap& classes, const PaddleRmsprop& optimizer, const TrainState& state) {
  AtomicDirectory out(dir);
  write_model_files(out.staging(), net, vocab, classes);
  std::vector<NamedArray> arrays;
  for (const auto& [name, t] : optimizer.state()) arrays.push_back({name, ndarray_from_tensor(t)});
  write_safetensors((fs::path(out.staging()) / kOptimizerFile).string(), arrays);
  write_file_atomic((fs::path(out.staging()) / kStateFile).string(), state_to_json(state).dump(1) + "\n");
  out.commit();
}

bool is_checkpoint(const std::string& dir) {
  return path_exists((fs::path(dir) / kStateFile).string()) && path_exists((fs::path(dir) / kOptimizerFile).string());
}

TrainState read_train_state(const std::string& dir) {
  const std::string path = (fs::path(dir) / kStateFile).string();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(path));
    TrainState s;
    s.epoch = j.at("epoch");
    s.step = j.at("step");
    s.batch_in_epoch = j.at("batch_in_epoch");
    s.validation.best_hit1 = j.at("best_hit1");
    s.validation.best_epoch = j.at("best_epoch");
    s.validation.bad_validations = j.at("bad_validations");
    s.seed = j.at("seed");
    s.cpu_rng = j.at("cpu_rng");
    s.cuda_rng = j.at("cuda_rng");
    for (const auto& h : j.at("history")) {
      EpochPoint p;
      p.epoch = h.at("epoch");
      p.train_loss = h.at("train_loss");
      p.train_hit1 = h.at("train_hit1");
      if (h.contains("val_loss")) p.val_loss = h.at("val_loss").get<double>();
      if (h.contains("val_hit1")) p.val_hit1 = h.at("val_hit1").get<double>();
      s.history.push_back(p);
    }
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw_error(ErrorKind::Data, std::string("malformed training state: ") + e.what(), at_file(path));
  }
}

void load_optimizer_state(const std::string& dir, PaddleRmsprop& optimizer, const torch::Device& device) {
  const std::string path = (fs::path(dir) / kOptimizerFile).string();
  const SafetensorsFile file = read_safetensors(path);
  std::map<std::string, torch::Tensor> state;
  for (const auto& t : file.tensors) state[t.name] = tensor_from_ndarray(t.array).to(device);
  try {
    optimizer.load_state(state);
  } catch (const Error& e) {
    Location where = e.where();
    where.file = path;
    throw Error(e.kind(), e.message(), where);
  }
}

std::string generator_state(const torch::Device& device) {
  if (device.is_cuda() && !at::hasCUDA()) return "";
  at::Generator gen = at::globalContext().defaultGenerator(device);
  std::lock_guard<std::mutex> lock(gen.mutex());
  const at::Tensor state = gen.get_state().contiguous();
  return hex_encode(state.data_ptr<std::uint8_t>(), static_cast<std::size_t>(state.numel()));
}

void restore_generator_state(const torch::Device& device, const std::string& hex) {
  if (hex.empty()) return;
  if (hex.size() % 2 != 0) throw_error(ErrorKind::Data, "generator state is not valid hex");
  at::Tensor state = torch::empty({static_cast<std::int64_t>(hex.size() / 2)}, torch::kUInt8);
  auto* p = state.data_ptr<std::uint8_t>();
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    throw_error(ErrorKind::Data, "generator state is not valid hex");
  };
  for (std::size_t i = 0; i < hex.size() / 2; ++i) {
    p[i] = static_cast<std::uint8_t>(nibble(hex[2 * i]) * 16 + nibble(hex[2 * i + 1]));
  }
  at::Generator gen = at::globalContext().defaultGenerator(device);
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

}  // namespace mvtag
