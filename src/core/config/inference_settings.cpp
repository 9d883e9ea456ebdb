#include "mvtag/core/config/inference_settings.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"

namespace mvtag {

namespace {
// Where the configuration took `key` from, or "" when it took the table's default.
std::string config_origin(const Config* config, const std::string& key) {
  if (config == nullptr) return "";
  const auto it = config->origins.find(key);
  if (it == config->origins.end() || it->second.file.empty()) return "";
  const Location& where = it->second;
  return where.line > 0 ? where.file + ":" + std::to_string(where.line) : where.file;
}
}  // namespace

std::optional<InferenceSettings> read_inference_settings(const std::string& model_dir) {
  const std::string path = (std::filesystem::path(model_dir) / kInferenceFile).string();
  if (!path_exists(path)) return std::nullopt;
  InferenceSettings s;
  try {
    const auto j = nlohmann::json::parse(read_file(path));
    s.text_max_len = j.at("text_max_len").get<int>();
    s.threshold = j.at("threshold").get<double>();
    if (j.contains("precision")) {
      const auto& value = j.at("precision");
      const auto parsed = value.is_string() ? parse_precision(value.get<std::string>()) : std::nullopt;
      if (!parsed) {
        Location where = at_file(path);
        where.key = "precision";
        throw_error(ErrorKind::Data, "unknown precision " + value.dump() + " (expected " + precision_choices() + ")",
                    where);
      }
      s.precision = *parsed;
    }
  } catch (const nlohmann::json::exception& e) {
    throw_error(ErrorKind::Data, std::string("malformed inference settings: ") + e.what(), at_file(path));
  }
  if (s.text_max_len < 1 || !(s.threshold >= 0.0 && s.threshold <= 1.0)) {
    throw_error(ErrorKind::Data, "inference settings out of range (text_max_len >= 1, 0 <= threshold <= 1)",
                at_file(path));
  }
  return s;
}

ResolvedInferenceSettings resolve_inference_settings(const Config* config, const std::string& model_dir,
                                                     std::optional<double> threshold_flag,
                                                     std::optional<Precision> precision_flag) {
  ResolvedInferenceSettings r;
  r.threshold_from = r.text_max_len_from = r.precision_from = "default";
  if (const auto stored = read_inference_settings(model_dir)) {
    const std::string file = (std::filesystem::path(model_dir) / kInferenceFile).string();
    r.values = *stored;
    r.threshold_from = r.text_max_len_from = r.precision_from = file;
  }
  if (const std::string from = config_origin(config, "INFER.threshold"); !from.empty()) {
    r.values.threshold = config->infer.threshold;
    r.threshold_from = from;
  }
  if (const std::string from = config_origin(config, "MODEL.text_max_len"); !from.empty()) {
    r.values.text_max_len = config->model.text_max_len;
    r.text_max_len_from = from;
  }
  if (threshold_flag) {
    r.values.threshold = *threshold_flag;
    r.threshold_from = "--threshold";
  }
  if (precision_flag) {
    r.values.precision = *precision_flag;
    r.precision_from = "--precision";
  }
  return r;
}

}  // namespace mvtag
