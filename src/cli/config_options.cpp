#include "config_options.h"

#include <algorithm>
#include <cctype>
#include <iostream>
#include <utility>

namespace mvtag::cli {

namespace {

const char* kConfigGroup = "Configuration";
const char* kFlagGroup = "Overrides (the original's flags; they win over --set)";
const char* kRunGroup = "Run";

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

// The original's --use_gpu was type=bool, so it could never be false; this one can.
bool parse_bool_word(std::string word) {
  std::transform(word.begin(), word.end(), word.begin(), [](unsigned char c) { return std::tolower(c); });
  return word == "true" || word == "1" || word == "yes" || word == "on";
}

}  // namespace

ConfigOptions::ConfigOptions(CLI::App& verb, ConfigFlags flags) : flags_(std::move(flags)) {
  verb.add_option("--conf,--config", conf_path_, "Configuration file (the original's conf.txt format)")
      ->type_name("FILE")
      ->capture_default_str()
      ->group(kConfigGroup);
  verb.add_option("--set", sets_, "Override one key, e.g. --set TRAIN.epoch=10 (repeatable; the value is read as in the file)")
      ->type_name("SECTION.key=VALUE")
      ->allow_extra_args(false)
      ->group(kConfigGroup);
  verb.add_flag("--dump-config", dump_, "Print the effective configuration (conf.txt syntax) and exit")
      ->group(kConfigGroup);

  if (!flags_.batch_size_sections.empty()) {
    batch_size_option_ = verb.add_option("--batch_size", batch_size_,
                                         "Batch size; sets " + join(flags_.batch_size_sections, ".batch_size and ") +
                                             ".batch_size")
                             ->type_name("N")
                             ->group(kFlagGroup);
  }
  if (flags_.training) {
    learning_rate_option_ = verb.add_option("--learning_rate", learning_rate_, "Base learning rate; sets TRAIN.learning_rate")
                                ->type_name("LR")
                                ->group(kFlagGroup);
    verb.add_option("--epoch_num", epoch_num_, "Epochs; when > 0 sets TRAIN.epoch")
        ->type_name("N")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber)
        ->group(kFlagGroup);
  }
  use_gpu_option_ = verb.add_option("--use_gpu", use_gpu_, "Use CUDA when available: true or false (also 1/0, yes/no); sets TRAIN.use_gpu")
                        ->type_name("BOOL")
                        ->check(CLI::IsMember({"true", "false", "1", "0", "yes", "no", "on", "off"}, CLI::ignore_case))
                        ->group(kFlagGroup);

  if (flags_.training) {
    verb.add_option("--save_dir", run_.save_dir, "Directory for checkpoints")
        ->type_name("DIR")
        ->capture_default_str()
        ->group(kRunGroup);
    verb.add_option("--pretrain", run_.pretrain, "Start from the weights of this checkpoint or model")
        ->type_name("PATH")
        ->group(kRunGroup);
    verb.add_option("--resume", run_.resume, "Resume training from this checkpoint (weights, optimizer and position)")
        ->type_name("DIR")
        ->group(kRunGroup);
    verb.add_option("--valid_interval", run_.valid_interval, "Validate every N epochs (0 = never)")
        ->type_name("N")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber)
        ->group(kRunGroup);
    verb.add_option("--log_interval", run_.log_interval, "Log training progress every N steps (0 = never)")
        ->type_name("N")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber)
        ->group(kRunGroup);
  }
}

Config ConfigOptions::load() const {
  Config cfg = load_config(conf_path_, sets_);
  apply_flags(cfg);
  validate_config(cfg);
  return cfg;
}

void ConfigOptions::apply_flags(Config& cfg) const {
  if (batch_size_option_ && batch_size_option_->count() > 0) {
    for (const auto& section : flags_.batch_size_sections) {
      set_config_value(cfg, section, "batch_size", PyValue::of_int(batch_size_), at_file("--batch_size"));
    }
  }
  if (learning_rate_option_ && learning_rate_option_->count() > 0) {
    set_config_value(cfg, "TRAIN", "learning_rate", PyValue::of_float(learning_rate_), at_file("--learning_rate"));
  }
  if (flags_.training && epoch_num_ > 0) {
    set_config_value(cfg, "TRAIN", "epoch", PyValue::of_int(epoch_num_), at_file("--epoch_num"));
  }
  if (use_gpu_option_->count() > 0) {
    set_config_value(cfg, "TRAIN", "use_gpu", PyValue::of_bool(parse_bool_word(use_gpu_)), at_file("--use_gpu"));
  }
}

int print_config(const Config& cfg) {
  std::cout << dump_config(cfg) << std::flush;
  return 0;
}

}  // namespace mvtag::cli
