// The configuration: the original's conf.txt (configparser syntax, Python-literal values),
// typed, validated and overridable. One table of known keys (config_keys()) drives parsing,
// validation, the defaults, --dump-config and docs/CONFIG.md. Paths are used as written (relative to the
// current directory, as the original ran from its application root).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mvtag/core/base/error.h"
#include "mvtag/core/config/py_literal.h"

namespace mvtag {

// Every field is named like its conf key.
//
// ONE default per key, in ONE place: the key table in src/core/config/config.cpp
// (config_keys(), `defaults_to(...)`), the value a key takes when a file omits it. The members
// below therefore have no meaningful initialisers (zero, false, empty); the constructor of Config
// gives every key that has a default that default, and leaves the required keys (no default)
// empty. A default-constructed Config is thus NOT a usable configuration: validate_config()
// refuses it until the required keys are set. What needs the shipped configuration reads it:
// load_config("conf/conf.txt"). Do not add initialisers here: they would be a second default
// that the constructor overwrites and readers mistake for the real one.
struct ModelSection {
  std::string name;                    // no effect
  std::string dataset;                 // no effect
  PyValue bone_nework;                 // no effect (sic)
  double drop_rate = 0;
  int feature_num = 0;                 // no effect
  std::vector<std::string> feature_names;
  int text_max_len = 0;
  std::vector<std::vector<int>> feature_dims;
  std::vector<std::string> feature_dtypes;  // no effect
  std::vector<int> feature_lod_level;       // no effect
  int embedding_size = 0;              // no effect
  int lstm_size_img = 0;
  int lstm_size_audio = 0;
  int num_classes = 0;
  std::vector<int> top_n;
  int num_first_classes = 0;           // no effect
  std::string class_name_file;
  bool ernie_freeze = false;
  std::string lstm_pool_mode;

  // Valid once validate_config() passed.
  int rgb_dim() const { return feature_dims[0][0]; }
  int audio_dim() const { return feature_dims[1][0]; }
  bool text_guided_attention() const { return lstm_pool_mode == "text_guide"; }
};

struct TrainSection {
  int epoch = 0;
  double learning_rate = 0;
  double decay_gamma = 0;
  double l2_weight_decay = 0;
  std::vector<int> decay_epochs;
  int num_samples = 0;
  int batch_size = 0;
  bool use_gpu = false;
  int warmup_epoch = 0;
  std::string loss_type;
  double modal_drop_rate = 0;          // no effect
  std::string ernie_pretrain_dict_path;
  std::string filelist;
  std::string url_title_label_file;
  double warmup_proportion = 0;        // no effect
  int early_stop = 0;
  int seed = 0;                        // new in mvtag
  bool reshuffle = false;              // new in mvtag
  int num_workers = 0;                 // new in mvtag
  bool ernie_cache = false;            // new in mvtag
  int ernie_cache_mb = 0;              // new in mvtag
  bool ernie_cache_fp16 = false;       // new in mvtag
};

// [VALID] and [TEST] ([TEST] has no effect at all: evaluation uses [VALID]).
struct DataSection {
  int batch_size = 0;
  int num_samples = 0;                 // no effect in [VALID]
  std::string filelist;
  std::string url_title_label_file;
};

struct InferSection {
  int batch_size = 0;
  double threshold = 0;
  std::string filelist;
  std::string url_title_label_file;
};

struct Config {
  // Every key that has a default in the key table takes it; the required keys stay empty.
  Config();

  ModelSection model;
  TrainSection train;
  DataSection valid;
  DataSection test;
  InferSection infer;

  std::string source;  // the file it was read from; "" when built in code
  // Where each value came from, by "SECTION.key": file and line, or an override ("--set X=Y",
  // "--batch_size"). Keys absent here took their default. For messages only.
  std::map<std::string, Location> origins;

  // Compares the values of every known key (not source or origins).
  bool operator==(const Config& other) const;
  bool operator!=(const Config& other) const { return !(*this == other); }
};

enum class KeyStatus {
  Honoured,  // mvtag uses it
  NoEffect,  // accepted (the original read it but ignored it), with a warning
};

struct ConfigKey {
  std::string section;  // "MODEL", "TRAIN", "VALID", "TEST", "INFER"
  std::string name;     // lower case, as configparser stores it
  std::string type;     // "int", "float", "bool", "str", "list[int]", "list[str]", "list[list[int]]", "any"
  KeyStatus status = KeyStatus::Honoured;
  std::optional<PyValue> default_value;  // the value when omitted (the only default); none: required
  std::string help;

  bool required() const { return !default_value.has_value(); }
  std::string full_name() const { return section + "." + name; }
};

// The section names, in file order.
const std::vector<std::string>& config_sections();
// Every known key, in file order within each section.
const std::vector<ConfigKey>& config_keys();
// nullptr when unknown. `section` is matched case-insensitively, `name` exactly (lower case).
const ConfigKey* find_config_key(const std::string& section, const std::string& name);

// Reads a conf.txt. Syntax, unknown keys, wrong types, out-of-range values and missing required
// keys are Error(Config) naming the file, line and key. `overrides` ("SECTION.key=value") are
// applied after the file and before the checks that span several keys. Keys without effect are
// accepted with one warning each.
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});
// The same from text in memory; `source` names it in messages.
Config parse_config(const std::string& text, const std::string& source,
                    const std::vector<std::string>& overrides = {});

// Type-checks `value` against the key and its own range, then sets it; `origin` says where it
// came from (for messages, and stored in cfg.origins). An int is accepted for a float, a tuple
// for a list. The checks that span keys are left to validate_config(): call it after the last
// change.
void set_config_value(Config& cfg, const std::string& section, const std::string& name,
                      const PyValue& value, const Location& origin);
PyValue get_config_value(const Config& cfg, const std::string& section, const std::string& name);

// "SECTION.key=value", the value parsed like a file value (a literal, else the raw text).
// Errors name the override; `origin` (default: "override 'SECTION.key=value'") is how.
void apply_override(Config& cfg, const std::string& assignment, const std::string& origin = "");

// Every range check again, plus those that span keys (feature_dims against text_max_len).
void validate_config(const Config& cfg);

// The effective configuration in conf.txt syntax: sections MODEL, TRAIN, VALID, TEST, INFER,
// every known key, a "# no effect in mvtag" line before the keys without effect.
// load_config() of this text gives an equal Config.
std::string dump_config(const Config& cfg);

// A Markdown table of every key (section, key, type, default, status, meaning).
std::string config_reference_markdown();

}  // namespace mvtag
