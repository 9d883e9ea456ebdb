// One pickle file described for people (`mvtag inspect`): its value as JSON (pickle_json.h) and,
// when it is a feature record (a dict with 'feature'), a summary of what the loader makes of it.
// Reading is as safe as parse_pickle: nothing in the file is run. Errors are returned, not
// thrown, so a caller can describe many files and go on past a bad one.
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

namespace mvtag {

struct InspectRecord {
  // {"file": as given, "value": pickle_to_json(...)[, "summary": ...]}, where the summary is
  // {"video_id", "rgb_shape": [rows, cols], "audio_shape": [rows, cols], "audio_was_empty"} (empty
  // audio shows as the 10 zero rows the loader gives) or {"error": why the record does not load}.
  // Null when the file could not be read or decoded.
  nlohmann::ordered_json json;
  // False when the file could not be read or decoded, or is a feature record that does not load.
  bool ok = true;
  // Why not ok: the Error's text, naming the file (and the offset or key); empty when ok.
  std::string error;
};

// Describes `file`; "-" reads standard input (named "<stdin>" in errors). `max_values` > 0 adds
// each array's first values.
InspectRecord inspect_pickle_file(const std::string& file, std::size_t max_values);

}  // namespace mvtag
