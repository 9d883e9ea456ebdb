#include "mvtag/core/data/pickle_inspect.h"

#include <iostream>
#include <iterator>

#include "mvtag/core/base/error.h"
#include "mvtag/core/data/features.h"
#include "mvtag/core/formats/pickle.h"
#include "mvtag/core/formats/pickle_json.h"

namespace mvtag {

namespace {

PickleValue read_pickle(const std::string& file) {
  if (file != "-") return load_pickle(file);
  const std::string data((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  return parse_pickle(data, "<stdin>");
}

}  // namespace

InspectRecord inspect_pickle_file(const std::string& file, std::size_t max_values) {
  InspectRecord record;
  PickleValue value;
  try {
    value = read_pickle(file);
  } catch (const Error& e) {
    record.ok = false;
    record.error = e.what();
    return record;
  }
  record.json = {{"file", file}, {"value", pickle_to_json(value, max_values)}};
  if (value.find("feature") != nullptr) {
    try {
      const VideoFeatures f = video_features_from_record(value, file == "-" ? "<stdin>" : file, 0, 0);
      record.json["summary"] = {{"video_id", f.video_id},
                                {"rgb_shape", {f.rgb.rows, f.rgb.cols}},
                                {"audio_shape", {f.audio.rows, f.audio.cols}},
                                {"audio_was_empty", f.audio_was_empty}};
    } catch (const Error& e) {
      record.ok = false;
      record.error = e.what();
      record.json["summary"] = {{"error", e.what()}};
    }
  }
  return record;
}

}  // namespace mvtag
