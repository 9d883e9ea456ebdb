#include "mvtag/infer/model_check.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "mvtag/core/base/error.h"
#include "mvtag/core/config/net_config.h"
#include "mvtag/core/data/model_consistency.h"

namespace mvtag {

void warn_on_config_mismatch(const Config& cfg, const NetConfig& model, const std::string& dir) {
  NetConfig described;
  try {
    described = net_config_from(cfg, model.ernie);
  } catch (const Error& e) {
    spdlog::warn("{} does not describe a valid network ({}); using {}'s", cfg.source, e.what(), dir);
    return;
  }
  const nlohmann::json want = net_config_to_json(described), have = net_config_to_json(model);
  for (auto it = have.begin(); it != have.end(); ++it) {
    if (it.key() != "ernie" && want.contains(it.key()) && want.at(it.key()) != it.value()) {
      spdlog::warn("{} gives {} = {}, but the model in {} has {}; using the model's", cfg.source, it.key(),
                   want.at(it.key()).dump(), dir, it.value().dump());
    }
  }
}

void check_model_against_config(const Config& cfg, const LoadedModel& model) {
  warn_on_config_mismatch(cfg, model.net->config(), model.dir);
  check_class_list(cfg, model.classes, model.dir);
  check_vocabulary(cfg, model.tokenizer.vocab(), model.dir);
}

}  // namespace mvtag
