#include "mvtag/infer/export.h"

#include <filesystem>

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
                                       {"threshold", settings.threshold},
                                       {"precision", to_string(settings.precision)}};
  write_file_atomic((std::filesystem::path(out.staging()) / kInferenceFile).string(), info.dump(2) + "\n");
  out.commit();
}

}  // namespace mvtag
