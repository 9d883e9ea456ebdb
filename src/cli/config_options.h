// The options every verb that reads conf.txt shares: --conf (alias --config), --set,
// --dump-config, and the original's flags. Precedence: file < --set < explicit flags.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "mvtag/core/config/config.h"

namespace mvtag::cli {

// Which of the original's flags a verb offers (every verb gets --use_gpu).
struct ConfigFlags {
  // Sections that --batch_size sets (train: TRAIN and VALID, as the original); empty: no flag.
  std::vector<std::string> batch_size_sections;
  // --learning_rate, --epoch_num and the run options (train only).
  bool training = false;
};

// train's options that are not conf keys.
struct RunOptions {
  std::string save_dir = "checkpoints";
  std::string pretrain;    // "" = none
  std::string resume;      // "" = none
  int valid_interval = 1;  // epochs between validations; 0 = no validation
  int log_interval = 10;   // steps between progress logs; 0 = none
};

class ConfigOptions {
 public:
  // Registers the options on `verb`, grouped for --help. The object must outlive the parse
  // (CLI11 writes into its members): create it with std::make_shared and keep it in the verb.
  ConfigOptions(CLI::App& verb, ConfigFlags flags);
  ConfigOptions(const ConfigOptions&) = delete;
  ConfigOptions& operator=(const ConfigOptions&) = delete;

  // The effective configuration. Throws mvtag::Error (Config) naming the file and line, the
  // override or the flag at fault.
  Config load() const;
  bool dump_requested() const { return dump_; }
  const RunOptions& run_options() const { return run_; }

 private:
  void apply_flags(Config& cfg) const;

  ConfigFlags flags_;
  std::string conf_path_ = "conf/conf.txt";
  std::vector<std::string> sets_;
  bool dump_ = false;
  int batch_size_ = 0;
  double learning_rate_ = 0.0;
  int epoch_num_ = 0;
  std::string use_gpu_;
  CLI::Option* batch_size_option_ = nullptr;
  CLI::Option* learning_rate_option_ = nullptr;
  CLI::Option* use_gpu_option_ = nullptr;
  RunOptions run_;
};

// Writes dump_config(cfg) to stdout; returns the exit code (0).
int print_config(const Config& cfg);

}  // namespace mvtag::cli
