#include "mvtag/infer/export.h"

#include <nlohmann/json.hpp>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"

namespace mvtag {

void export_model(const LoadedModel& model, const std::string& out_dir, const InferenceSettings& settings) {
  AtomicDirectory out(out_dir);
  write_model_files(out.staging(), *model.net, model.tokenizer.vocab(), model.classes);
  const nlohmann::ordered_json info = {{"format", "mvtag inference model"},
                                       {"mvtag_version", MVTAG_VERSION},
                                       {"source", model.dir},
                                       {"text_max_len", settings.text_max_len},
                                       {"threshold", settings.threshold}};
  write_file_atomic(out.staging() + "/" + kInferenceFile, info.dump(2) + "\n");
  out.commit();
}

InferenceSettings read_inference_settings(const std::string& model_dir) {
  InferenceSettings s;
  const std::string path = model_dir + "/" + kInferenceFile;
  if (!path_exists(path)) return s;
  try {
    const auto j = nlohmann::json::parse(read_file(path));
    s.text_max_len = j.at("text_max_len").get<int>();
    s.threshold = j.at("threshold").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw_error(ErrorKind::Data, std::string("malformed inference settings: ") + e.what(), at_file(path));
  }
  return s;
}

}  // namespace mvtag
