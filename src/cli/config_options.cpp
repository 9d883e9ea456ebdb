#include "config_options.h"

#include <iostream>
#include <stdexcept>

namespace mvtag::cli {

namespace detail {

const char* flag_group(FlagTarget target) {
  switch (target) {
    case FlagTarget::Source:
      return "Configuration";
    case FlagTarget::Keys:
      return "Overrides (the original's flags; they win over --set)";
    case FlagTarget::Run:
      return "Run";
  }
  return "";
}

std::string flag_option_names(const FlagSpec& spec) {
  std::string out;
  for (const auto& name : spec.names) out += (out.empty() ? "" : ",") + name;
  return out;
}

void flag_table_mismatch(const std::string& what) { throw std::logic_error("flag table: " + what); }

}  // namespace detail

ConfigOptions::ConfigOptions(CLI::App& verb) {
  const std::string name = verb.get_name();
  if (flags_for(name).empty()) detail::flag_table_mismatch("no flags for the verb '" + name + "'");
  add_member_flags(verb, FlagTarget::Source, source_);
  for (const FlagSpec* spec : flags_for(name)) {
    if (spec->target != FlagTarget::Keys) continue;
    auto flag = std::make_unique<KeyFlag>();
    flag->spec = spec;
    const std::string names = detail::flag_option_names(*spec);
    const std::string help = spec->help + "; " + flag_sets_text(*spec);
    CLI::Option* option = nullptr;
    switch (spec->value) {
      case FlagValue::Int:
        option = verb.add_option(names, flag->int_value, help);
        break;
      case FlagValue::Float:
        option = verb.add_option(names, flag->float_value, help);
        break;
      case FlagValue::Bool:
        option = verb.add_option(names, flag->word, help)
                     ->check(CLI::IsMember(flag_bool_words(), CLI::ignore_case));
        break;
      case FlagValue::Text:
      case FlagValue::TextList:
      case FlagValue::Switch:
        detail::flag_table_mismatch(spec->name() + " sets keys but takes no int, float or bool");
    }
    option->type_name(spec->value_name)->group(detail::flag_group(FlagTarget::Keys));
    if (spec->non_negative) option->check(CLI::NonNegativeNumber);
    flag->option = option;
    key_flags_.push_back(std::move(flag));
  }
}

Config ConfigOptions::load() const {
  Config cfg = load_config(source_.path, source_.overrides);
  apply_flags(cfg);
  validate_config(cfg);
  return cfg;
}

void ConfigOptions::apply_flags(Config& cfg) const {
  for (const auto& flag : key_flags_) {
    const FlagSpec& spec = *flag->spec;
    if (flag->option->count() == 0) continue;
    if (spec.positive_only && (spec.value == FlagValue::Int ? flag->int_value <= 0 : flag->float_value <= 0)) continue;
    bool boolean = false;
    if (spec.value == FlagValue::Bool) parse_flag_bool(flag->word, boolean);  // CLI11 checked the word
    const PyValue value = flag_key_value(spec, flag->int_value, flag->float_value, boolean);
    for (const auto& key : spec.keys) {
      const std::size_t dot = key.find('.');
      set_config_value(cfg, key.substr(0, dot), key.substr(dot + 1), value, at_file(spec.name()));
    }
  }
}

int print_config(const Config& cfg) {
  std::cout << dump_config(cfg) << std::flush;
  return 0;
}

}  // namespace mvtag::cli
