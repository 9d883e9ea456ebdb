// The command-line flags of the verbs that read a configuration: ONE table (flag_table()) says,
// for every flag, its spellings, the verbs that take it, its value, what it sets and its help.
// The CLI registers and applies the flags from it (src/cli/config_options.h) and docs/CONFIG.md's
// flag table is generated from it (flag_reference_markdown(); a test compares the two).
// Free of LibTorch and of CLI11.
//
// Defaults, one per flag:
//   - a flag that sets configuration keys has none: when it is not given, the key keeps its value
//     (the file's, a --set's, else the key table's default, config_keys());
//   - a flag that sets an option takes the initial value of the member it binds: ConfigSource's
//     below for --conf, --set and --dump-config, TrainOptions' (mvtag/train/train_options.h) for
//     train's run options. Those structs name their members for the table with a static
//     `visit_flag_members(self, visit)` that calls visit("name", self.member) for each.
#pragma once

#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "mvtag/core/config/py_literal.h"

namespace mvtag {

// The value a flag takes.
enum class FlagValue {
  Int,       // a whole number
  Float,     // a number
  Bool,      // true/false, 1/0, yes/no, on/off, any case (flag_bool_words())
  Text,      // one word (a path)
  TextList,  // one word, the flag repeatable
  Switch,    // no value
};

// What a flag sets.
enum class FlagTarget {
  Keys,    // configuration keys (`keys`), after the file and --set, before the checks
  Source,  // a member of ConfigSource (`member`): where the configuration comes from
  Run,     // a member of the verb's run options (`member`): train's TrainOptions
};

struct FlagSpec {
  std::vector<std::string> names;  // the primary spelling first, then its aliases ("--conf", "--config")
  std::vector<std::string> verbs;  // the verbs that take it ("train", "eval", ...)
  FlagValue value = FlagValue::Text;
  std::string value_name;          // the value in --help and the docs: "N", "DIR"
  FlagTarget target = FlagTarget::Keys;
  std::vector<std::string> keys;   // Keys: "SECTION.key", each set to the value, in order
  std::string member;              // Source, Run: the member it binds
  bool positive_only = false;      // Keys: a value <= 0 sets nothing (--epoch_num 0)
  bool non_negative = false;       // a negative value is refused on the command line
  std::string help;                // what it is; what it sets is flag_sets_text()

  const std::string& name() const { return names.front(); }
  bool taken_by(const std::string& verb) const;
};

// Every flag, one entry per flag and group of verbs for which it sets the same thing (train's
// --batch_size sets TRAIN.batch_size and VALID.batch_size, eval's only VALID.batch_size: two
// entries). A flag appears at most once per verb.
const std::vector<FlagSpec>& flag_table();
// The verbs the table knows, in the order they first appear.
const std::vector<std::string>& flag_verbs();
// The entries `verb` takes, in table order (empty for a verb the table does not know).
std::vector<const FlagSpec*> flags_for(const std::string& verb);
// The entry of `verb` one of whose spellings is `name`; nullptr when none.
const FlagSpec* find_flag(const std::string& verb, const std::string& name);

// The words a Bool flag accepts, and their meaning; false when `word` is none of them.
const std::vector<std::string>& flag_bool_words();
bool parse_flag_bool(const std::string& word, bool& value);

// What a flag sets, in words: "sets TRAIN.batch_size and VALID.batch_size", "when > 0 sets
// TRAIN.epoch", "sets the run option save_dir".
std::string flag_sets_text(const FlagSpec& spec);

// The value a Keys flag gives its keys (an Int flag an int, a Bool flag a bool...).
PyValue flag_key_value(const FlagSpec& spec, std::int64_t int_value, double float_value, bool bool_value);

// What the configuration flags collect. The member initialisers are the flags' defaults.
struct ConfigSource {
  std::string path = "conf/conf.txt";  // --conf
  std::vector<std::string> overrides;  // --set, in order
  bool dump = false;                   // --dump-config

  template <class Self, class Visit>
  static void visit_flag_members(Self& self, Visit&& visit) {
    visit("path", self.path);
    visit("overrides", self.overrides);
    visit("dump", self.dump);
  }
};

// The FlagValue a member of type T holds; static_assert for a type no flag can bind.
template <class T>
constexpr FlagValue flag_value_of() {
  if constexpr (std::is_same_v<T, bool>) {
    return FlagValue::Switch;
  } else if constexpr (std::is_integral_v<T>) {
    return FlagValue::Int;
  } else if constexpr (std::is_floating_point_v<T>) {
    return FlagValue::Float;
  } else if constexpr (std::is_same_v<T, std::string>) {
    return FlagValue::Text;
  } else {
    static_assert(std::is_same_v<T, std::vector<std::string>>, "no flag can bind this member type");
    return FlagValue::TextList;
  }
}

// A member's value as the docs show a default ("" for empty text, a list or a switch).
template <class T>
std::string flag_default_text(const T& value) {
  if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::vector<std::string>>) {
    return "";
  } else if constexpr (std::is_same_v<T, std::string>) {
    return value;
  } else {
    std::ostringstream out;
    out << value;
    return out.str();
  }
}

// Member name -> default text, of an options struct with visit_flag_members().
using FlagDefaults = std::map<std::string, std::string>;
template <class Options>
FlagDefaults flag_defaults(const Options& options) {
  FlagDefaults out;
  Options::visit_flag_members(options, [&](const char* member, const auto& value) {
    out[member] = flag_default_text(value);
  });
  return out;
}

// A Markdown table of every flag (flag and aliases, verbs, default, what it sets, meaning).
// `run_defaults` gives the defaults of each verb's run options (train: flag_defaults(TrainOptions{})),
// which this library cannot see.
std::string flag_reference_markdown(const std::map<std::string, FlagDefaults>& run_defaults);

}  // namespace mvtag
