#include "model_options.h"

namespace mvtag::cli {

namespace {
std::string names(const std::string& primary, const std::vector<std::string>& aliases) {
  std::string out = primary;
  for (const auto& a : aliases) out += "," + a;
  return out;
}
}  // namespace

CLI::Option* add_model_input_option(CLI::App& verb, std::string& dir, const std::string& help,
                                    const std::vector<std::string>& aliases) {
  return verb.add_option(names("--model", aliases), dir, help)->type_name("DIR")->capture_default_str()->group("Run");
}

CLI::Option* add_model_output_option(CLI::App& verb, std::string& dir, const std::string& help,
                                     const std::vector<std::string>& aliases) {
  return verb.add_option(names("--output,-o", aliases), dir, help)->type_name("DIR")->group("Run");
}

}  // namespace mvtag::cli
