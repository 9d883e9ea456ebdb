#include "mvtag/core/config/flags.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace mvtag {

namespace {

// The verbs that read a configuration.
const std::vector<std::string> kConfigVerbs = {"train", "eval", "infer", "export", "import-paddle", "serve"};

FlagSpec keys_flag(std::vector<std::string> names, std::vector<std::string> verbs, FlagValue value,
                   std::string value_name, std::vector<std::string> keys, std::string help) {
  FlagSpec f;
  f.names = std::move(names);
  f.verbs = std::move(verbs);
  f.value = value;
  f.value_name = std::move(value_name);
  f.target = FlagTarget::Keys;
  f.keys = std::move(keys);
  f.help = std::move(help);
  return f;
}

FlagSpec member_flag(FlagTarget target, std::vector<std::string> names, std::vector<std::string> verbs,
                     FlagValue value, std::string value_name, std::string member, std::string help) {
  FlagSpec f;
  f.names = std::move(names);
  f.verbs = std::move(verbs);
  f.value = value;
  f.value_name = std::move(value_name);
  f.target = target;
  f.member = std::move(member);
  f.help = std::move(help);
  return f;
}

FlagSpec non_negative(FlagSpec f) {
  f.non_negative = true;
  return f;
}

FlagSpec positive_only(FlagSpec f) {
  f.positive_only = true;
  return f;
}

std::vector<FlagSpec> build_table() {
  using V = FlagValue;
  using T = FlagTarget;
  const std::vector<std::string> all = kConfigVerbs;
  const std::vector<std::string> train = {"train"};
  return {
      // Where the configuration comes from (ConfigSource).
      member_flag(T::Source, {"--conf", "--config"}, all, V::Text, "FILE", "path",
                  "Configuration file (the original's conf.txt format)"),
      member_flag(T::Source, {"--set"}, all, V::TextList, "SECTION.key=VALUE", "overrides",
                  "Override one key, e.g. --set TRAIN.epoch=10 (repeatable; the value is read as in the file)"),
      member_flag(T::Source, {"--dump-config"}, all, V::Switch, "", "dump",
                  "Print the effective configuration (conf.txt syntax) and exit"),

      // The original's flags: they set keys, and win over --set.
      keys_flag({"--batch_size"}, train, V::Int, "N", {"TRAIN.batch_size", "VALID.batch_size"},
                "Batch size of training and validation (as the original)"),
      keys_flag({"--batch_size"}, {"eval"}, V::Int, "N", {"VALID.batch_size"}, "Batch size"),
      keys_flag({"--batch_size"}, {"infer"}, V::Int, "N", {"INFER.batch_size"}, "Batch size"),
      keys_flag({"--learning_rate"}, train, V::Float, "LR", {"TRAIN.learning_rate"}, "Base learning rate"),
      positive_only(non_negative(keys_flag({"--epoch_num"}, train, V::Int, "N", {"TRAIN.epoch"}, "Epochs"))),
      keys_flag({"--use_gpu"}, all, V::Bool, "BOOL", {"TRAIN.use_gpu"},
                "Use CUDA when available: true or false (also 1/0, yes/no)"),

      // train's run options (TrainOptions).
      member_flag(T::Run, {"--save_dir"}, train, V::Text, "DIR", "save_dir", "Directory for checkpoints"),
      member_flag(T::Run, {"--pretrain"}, train, V::Text, "PATH", "pretrain",
                  "Start from the weights of this checkpoint or model"),
      member_flag(T::Run, {"--resume"}, train, V::Text, "DIR", "resume",
                  "Resume training from this checkpoint (weights, optimizer and position)"),
      non_negative(member_flag(T::Run, {"--valid_interval"}, train, V::Int, "N", "valid_interval",
                               "Validate every N epochs (0 = never)")),
      non_negative(member_flag(T::Run, {"--log_interval"}, train, V::Int, "N", "log_interval",
                               "Log training progress every N steps (0 = never)")),
      non_negative(member_flag(T::Run, {"--max-steps"}, train, V::Int, "N", "max_steps",
                               "Stop after N optimizer steps, saving last/ (0 = no limit)")),
      non_negative(member_flag(T::Run, {"--nproc"}, train, V::Int, "N", "nproc",
                               "Start N local processes that train together (data parallel, Gloo); 0 = one "
                               "process, or the ranks torchrun's WORLD_SIZE/RANK/MASTER_ADDR/MASTER_PORT describe")),
      non_negative(member_flag(T::Run, {"--dist_timeout"}, train, V::Int, "SECONDS", "dist_timeout",
                               "Data parallel: how long a rank waits for the others (rendezvous, each "
                               "all-reduce) before it exits with an error (at least 1)")),
  };
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

std::string cell(const std::string& s) {
  std::string out;
  for (const char c : s) out += c == '|' ? "\\|" : std::string(1, c);
  return out;
}

}  // namespace

bool FlagSpec::taken_by(const std::string& verb) const {
  return std::find(verbs.begin(), verbs.end(), verb) != verbs.end();
}

const std::vector<FlagSpec>& flag_table() {
  static const std::vector<FlagSpec> table = build_table();
  return table;
}

const std::vector<std::string>& flag_verbs() {
  static const std::vector<std::string> verbs = [] {
    std::vector<std::string> out;
    for (const auto& f : flag_table()) {
      for (const auto& v : f.verbs) {
        if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
      }
    }
    return out;
  }();
  return verbs;
}

std::vector<const FlagSpec*> flags_for(const std::string& verb) {
  std::vector<const FlagSpec*> out;
  for (const auto& f : flag_table()) {
    if (f.taken_by(verb)) out.push_back(&f);
  }
  return out;
}

const FlagSpec* find_flag(const std::string& verb, const std::string& name) {
  for (const FlagSpec* f : flags_for(verb)) {
    if (std::find(f->names.begin(), f->names.end(), name) != f->names.end()) return f;
  }
  return nullptr;
}

const std::vector<std::string>& flag_bool_words() {
  static const std::vector<std::string> words = {"true", "false", "1", "0", "yes", "no", "on", "off"};
  return words;
}

bool parse_flag_bool(const std::string& word, bool& value) {
  std::string w = word;
  std::transform(w.begin(), w.end(), w.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (w == "true" || w == "1" || w == "yes" || w == "on") {
    value = true;
    return true;
  }
  if (w == "false" || w == "0" || w == "no" || w == "off") {
    value = false;
    return true;
  }
  return false;
}

std::string flag_sets_text(const FlagSpec& spec) {
  if (spec.target != FlagTarget::Keys) return "";
  return std::string(spec.positive_only ? "when > 0 sets " : "sets ") + join(spec.keys, " and ");
}

PyValue flag_key_value(const FlagSpec& spec, std::int64_t int_value, double float_value, bool bool_value) {
  switch (spec.value) {
    case FlagValue::Int:
      return PyValue::of_int(int_value);
    case FlagValue::Float:
      return PyValue::of_float(float_value);
    case FlagValue::Bool:
      return PyValue::of_bool(bool_value);
    default:
      throw std::logic_error("flag table: " + spec.name() + " sets keys but takes no int, float or bool");
  }
}

std::string flag_reference_markdown(const std::map<std::string, FlagDefaults>& run_defaults) {
  const FlagDefaults source_defaults = flag_defaults(ConfigSource{});
  std::string out =
      "| Flag | Verbs | Default | Sets | Meaning |\n"
      "|---|---|---|---|---|\n";
  for (const auto& f : flag_table()) {
    std::string spellings;
    for (const auto& name : f.names) {
      spellings += (spellings.empty() ? "`" : ", `") + name + (f.value_name.empty() ? "" : " " + f.value_name) + "`";
    }
    const auto code = [](const std::string& text) { return text.empty() ? text : "`" + text + "`"; };
    std::string def;
    std::string sets;
    switch (f.target) {
      case FlagTarget::Keys:
        def = "the key's value";
        for (const auto& key : f.keys) sets += (sets.empty() ? "" : ", ") + code(key);
        if (f.positive_only) sets += " when > 0";
        break;
      case FlagTarget::Source:
        def = code(source_defaults.at(f.member));
        break;
      case FlagTarget::Run: {
        // One value when every verb has the same, else "verb: value" for each.
        std::vector<std::string> per_verb;
        bool same = true;
        std::string first;
        for (const auto& verb : f.verbs) {
          const auto d = run_defaults.find(verb);
          if (d == run_defaults.end() || !d->second.count(f.member)) {
            throw std::logic_error("flag_reference_markdown: no default for " + verb + "'s run option " + f.member);
          }
          const std::string value = d->second.at(f.member);
          if (per_verb.empty()) first = value;
          same = same && value == first;
          per_verb.push_back(verb + ": " + (value.empty() ? "none" : code(value)));
        }
        def = same ? code(first) : join(per_verb, "; ");
        break;
      }
    }
    out += "| " + cell(spellings) + " | " + join(f.verbs, ", ") + " | " + cell(def) + " | " + cell(sets) + " | " +
           cell(f.help) + " |\n";
  }
  return out;
}

}  // namespace mvtag
