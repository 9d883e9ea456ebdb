// mvtag inspect FILE...: what a pickle holds, as one JSON object per file (JSON Lines).
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "commands.h"
#include "mvtag/core/data/pickle_inspect.h"

namespace mvtag::cli {

Command add_inspect_command(CLI::App& root) {
  auto* sub = root.add_subcommand(
      "inspect",
      "Show what pickle files hold (safely: nothing in them is run), one JSON object per file.\n"
      "Arrays appear as {\"dtype\", \"shape\"}; a feature file (a dict with 'feature') gets a \"summary\"\n"
      "with the video id and the rgb/audio shapes the loader gives (empty audio becomes 10 zero rows).\n"
      "Exit 1 if any file cannot be read or is a feature file that does not load; the others are still shown.");
  auto files = std::make_shared<std::vector<std::string>>();
  auto max_values = std::make_shared<std::size_t>(0);
  sub->add_option("files", *files, "Pickle files ('-' reads standard input)")->required();
  sub->add_option("--values", *max_values, "Also print the first N values of each array (C order)")
      ->capture_default_str();
  return {sub, [files, max_values]() -> int {
            bool ok = true;
            for (const auto& file : *files) {
              const InspectRecord record = inspect_pickle_file(file, *max_values);
              if (!record.ok) spdlog::error("{}", record.error);
              if (!record.json.is_null()) {
                std::cout << record.json.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
              }
              ok = record.ok && ok;
            }
            std::cout.flush();
            return ok ? 0 : 1;
          }};
}

}  // namespace mvtag::cli
