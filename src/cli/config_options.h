// The flags of the verbs that read conf.txt, registered and applied from the flag table
// (mvtag/core/config/flags.h): --conf (alias --config), --set, --dump-config, the original's flags
// that set keys, and (add_member_flags) train's run options. Precedence: file < --set < flags.
// No flag is registered or applied by hand here: a flag is one entry in the table.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <CLI/CLI.hpp>

#include "mvtag/core/config/config.h"
#include "mvtag/core/config/flags.h"

namespace mvtag::cli {

class ConfigOptions {
 public:
  // Registers the table's configuration flags (FlagTarget::Source) and key flags
  // (FlagTarget::Keys) of `verb`, found by its name, grouped for --help. The object must outlive
  // the parse (CLI11 writes into its members): create it with std::make_shared and keep it in
  // the verb. Throws std::logic_error for a verb the table does not know.
  explicit ConfigOptions(CLI::App& verb);
  ConfigOptions(const ConfigOptions&) = delete;
  ConfigOptions& operator=(const ConfigOptions&) = delete;

  // The effective configuration. Throws mvtag::Error (Config) naming the file and line, the
  // override or the flag at fault.
  Config load() const;
  bool dump_requested() const { return source_.dump; }
  const ConfigSource& source() const { return source_; }

 private:
  // A key flag's value, where CLI11 writes it; `option` tells whether it was given.
  struct KeyFlag {
    const FlagSpec* spec = nullptr;
    CLI::Option* option = nullptr;
    std::int64_t int_value = 0;
    double float_value = 0;
    std::string word;  // Bool
  };
  void apply_flags(Config& cfg) const;

  ConfigSource source_;
  std::vector<std::unique_ptr<KeyFlag>> key_flags_;
};

// Writes dump_config(cfg) to stdout; returns the exit code (0).
int print_config(const Config& cfg);

namespace detail {

const char* flag_group(FlagTarget target);
// "--conf,--config": the spellings as CLI11 takes them.
std::string flag_option_names(const FlagSpec& spec);
[[noreturn]] void flag_table_mismatch(const std::string& what);

// Registers one flag bound to `member`, with the member's value as the default --help shows.
template <class T>
CLI::Option* add_member_flag(CLI::App& verb, const FlagSpec& spec, T& member) {
  if (spec.value != flag_value_of<T>()) {
    flag_table_mismatch(spec.name() + " of " + verb.get_name() + " does not take the type of member '" +
                        spec.member + "'");
  }
  CLI::Option* option = nullptr;
  if constexpr (std::is_same_v<T, bool>) {
    option = verb.add_flag(flag_option_names(spec), member, spec.help);
  } else {
    option = verb.add_option(flag_option_names(spec), member, spec.help)->type_name(spec.value_name);
    if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      option->allow_extra_args(false);
    } else {
      option->capture_default_str();
    }
  }
  if (spec.non_negative) option->check(CLI::NonNegativeNumber);
  return option->group(flag_group(spec.target));
}

}  // namespace detail

// Registers the table's flags of `verb` that bind members of `options` (those of `target`), in
// table order, each with its member's initial value as its default: train binds its run options
// with add_member_flags(verb, FlagTarget::Run, train_options). `Options` names its members with
// a static visit_flag_members(self, visit) (see mvtag/core/config/flags.h); `options` must
// outlive the parse. std::logic_error when the table names a member `Options` lacks, or when
// the types differ.
template <class Options>
void add_member_flags(CLI::App& verb, FlagTarget target, Options& options) {
  std::map<std::string, std::function<void(const FlagSpec&)>> binders;
  Options::visit_flag_members(options, [&](const char* member, auto& value) {
    binders[member] = [&verb, &value](const FlagSpec& spec) { detail::add_member_flag(verb, spec, value); };
  });
  for (const FlagSpec* spec : flags_for(verb.get_name())) {
    if (spec->target != target) continue;
    const auto binder = binders.find(spec->member);
    if (binder == binders.end()) {
      detail::flag_table_mismatch(spec->name() + " of " + verb.get_name() + " binds member '" + spec->member +
                                  "', which its options do not have");
    }
    binder->second(*spec);
  }
}

}  // namespace mvtag::cli
