#include "mvtag/core/data/model_consistency.h"

#include <algorithm>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"

namespace mvtag {

namespace fs = std::filesystem;

void check_class_list(const Config& config, const ClassMap& model_classes, const std::string& model_dir) {
  const std::string& path = config.model.class_name_file;
  if (path.empty() || !path_exists(path)) return;
  const std::string model_file = (fs::path(model_dir) / "class.txt").string();
  const ClassMap configured = ClassMap::load(path);
  if (configured.num_classes() != model_classes.num_classes()) {
    Location where = at_file(path);
    where.key = "MODEL.class_name_file";
    throw_error(ErrorKind::Config,
                "lists " + std::to_string(configured.num_classes()) + " classes but the model in " + model_dir +
                    " has " + std::to_string(model_classes.num_classes()) + " (" + model_file +
                    "); point the configuration at the model's class list or use a model trained on this one",
                where);
  }
  const std::vector<std::string> ours = configured.names(), theirs = model_classes.names();
  const auto diff = std::mismatch(ours.begin(), ours.end(), theirs.begin());
  if (diff.first == ours.end()) return;
  const auto index = diff.first - ours.begin();
  spdlog::warn("MODEL.class_name_file {} differs from the model's {}: class {} is '{}' there and '{}' in the model; "
               "using the model's class names",
               path, model_file, index, *diff.first, *diff.second);
}

void check_vocabulary(const Config& config, const Vocab& model_vocab, const std::string& model_dir) {
  const std::string path = (fs::path(config.train.ernie_pretrain_dict_path) / "vocab.txt").string();
  if (config.train.ernie_pretrain_dict_path.empty() || !path_exists(path)) return;
  const std::string model_file = (fs::path(model_dir) / "vocab.txt").string();
  const Vocab configured = Vocab::load(path);
  const int last = std::max(configured.max_id(), model_vocab.max_id());
  for (int id = 0; id <= last; ++id) {
    const bool a = configured.has_id(id), b = model_vocab.has_id(id);
    if (!a && !b) continue;
    const std::string ours = a ? "'" + configured.token(id) + "'" : "no token";
    const std::string theirs = b ? "'" + model_vocab.token(id) + "'" : "no token";
    if (a && b && configured.token(id) == model_vocab.token(id)) continue;
    spdlog::warn("the ERNIE vocabulary {} (TRAIN.ernie_pretrain_dict_path) differs from the model's {}: id {} is {} "
                 "there and {} in the model; titles are tokenised with the model's",
                 path, model_file, id, ours, theirs);
    return;
  }
}

}  // namespace mvtag
