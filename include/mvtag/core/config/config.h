// The configuration: the original's conf.txt (configparser syntax, Python-literal values),
// typed, validated and overridable. One table of known keys (config_keys()) drives parsing,
// validation, --dump-config and docs/CONFIG.md. Paths are used as written (relative to the
// current directory, as the original ran from its application root).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mvtag/core/base/error.h"
#include "mvtag/core/config/py_literal.h"

namespace mvtag {

// Every field is named like its conf key. The initial values are those of the shipped
// conf/conf.txt, so a default-constructed Config is that file; the value a key takes when a
// file omits it is the table's default (config_keys()), which can differ.
struct ModelSection {
  std::string name = "";               // no effect
  std::string dataset = "Baidudata";   // no effect
  PyValue bone_nework;                 // no effect (sic), None
  double drop_rate = 0.5;
  int feature_num = 3;                 // no effect
  std::vector<std::string> feature_names = {"rgb", "audio", "text"};
  int text_max_len = 50;
  std::vector<std::vector<int>> feature_dims = {{2048}, {128}, {5, 50, 1}};
  std::vector<std::string> feature_dtypes = {"float32", "float32", "int64"};  // no effect
  std::vector<int> feature_lod_level = {1, 1, 0};                             // no effect
  int embedding_size = 512;            // no effect
  int lstm_size_img = 512;
  int lstm_size_audio = 128;
  int num_classes = 110;
  std::vector<int> top_n = {1, 2, 3, 5};
  int num_first_classes = 20;          // no effect
  std::string class_name_file = "./datasets/class.txt";
  bool ernie_freeze = true;
  std::string lstm_pool_mode = "text_guide";

  // Valid once validate_config() passed.
  int rgb_dim() const { return feature_dims[0][0]; }
  int audio_dim() const { return feature_dims[1][0]; }
  bool text_guided_attention() const { return lstm_pool_mode == "text_guide"; }
};

struct TrainSection {
  int epoch = 30;
  double learning_rate = 0.0007;
  double decay_gamma = 0.2;
  double l2_weight_decay = 8e-4;
  std::vector<int> decay_epochs = {5, 10, 15, 20};
  int num_samples = 70000;
  int batch_size = 64;
  bool use_gpu = true;
  int warmup_epoch = 5;
  std::string loss_type = "sigmoid";
  double modal_drop_rate = 0.0;        // no effect
  std::string ernie_pretrain_dict_path = "model_pretrained/ernie_v1_params/";
  std::string filelist = "./datasets/feature_files/";
  std::string url_title_label_file = "./datasets/train.txt";
  double warmup_proportion = 0.0;      // no effect
  int early_stop = 15;
  int seed = 0;                        // new in mvtag
  bool reshuffle = true;               // new in mvtag
  int num_workers = 2;                 // new in mvtag
};

// [VALID] and [TEST] ([TEST] has no effect at all: evaluation uses [VALID]).
struct DataSection {
  int batch_size = 16;
  int num_samples = 464;               // no effect
  std::string filelist = "./datasets/feature_files/";
  std::string url_title_label_file = "./datasets/val.txt";
};

struct InferSection {
  int batch_size = 64;
  double threshold = 0.5;
  std::string filelist = "./datasets/feature_files/";
  std::string url_title_label_file = "./datasets/val.txt";
};

struct Config {
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
  std::optional<PyValue> default_value;  // the value when omitted; none: the key is required
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
