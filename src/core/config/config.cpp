#include "mvtag/core/config/config.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <set>
#include <sstream>
#include <stdexcept>

#include "mvtag/core/base/io.h"
#include "mvtag/core/base/limits.h"

namespace mvtag {

namespace {

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

const char* kSpace = " \t\f\v\r";

std::string trim(const std::string& s) {
  const std::size_t b = s.find_first_not_of(kSpace);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

std::string double_text(double v) { return PyValue::of_float(v).repr(); }

// ---------------------------------------------------------------------------
// Typed fields <-> Python values. from_py returns false when the value does not fit; `note`
// then says why when the kind alone does not (an int beyond 32 bits, a list item).

template <class T>
struct Codec;

template <>
struct Codec<int> {
  static std::string type() { return "int"; }
  static PyValue to_py(int v) { return PyValue::of_int(v); }
  static bool from_py(const PyValue& v, int& out, std::string& note) {
    if (v.kind != PyValue::Kind::Int) return false;
    if (v.integer < INT32_MIN || v.integer > INT32_MAX) {
      note = "out of the 32-bit integer range";
      return false;
    }
    out = static_cast<int>(v.integer);
    return true;
  }
};

template <>
struct Codec<double> {
  static std::string type() { return "float"; }
  static PyValue to_py(double v) { return PyValue::of_float(v); }
  static bool from_py(const PyValue& v, double& out, std::string& note) {
    if (v.kind == PyValue::Kind::Int) {
      out = static_cast<double>(v.integer);
      return true;
    }
    if (v.kind != PyValue::Kind::Float) return false;
    if (!std::isfinite(v.real)) {
      note = "not a finite number";
      return false;
    }
    out = v.real;
    return true;
  }
};

template <>
struct Codec<bool> {
  static std::string type() { return "bool"; }
  static PyValue to_py(bool v) { return PyValue::of_bool(v); }
  static bool from_py(const PyValue& v, bool& out, std::string&) {
    if (v.kind != PyValue::Kind::Bool) return false;
    out = v.boolean;
    return true;
  }
};

template <>
struct Codec<std::string> {
  static std::string type() { return "str"; }
  static PyValue to_py(const std::string& v) { return PyValue::of_str(v); }
  static bool from_py(const PyValue& v, std::string& out, std::string&) {
    if (v.kind != PyValue::Kind::Str) return false;
    out = v.str;
    return true;
  }
};

template <>
struct Codec<PyValue> {
  static std::string type() { return "any"; }
  static PyValue to_py(const PyValue& v) { return v; }
  static bool from_py(const PyValue& v, PyValue& out, std::string&) {
    out = v;
    return true;
  }
};

template <class T>
struct Codec<std::vector<T>> {
  static std::string type() { return "list[" + Codec<T>::type() + "]"; }
  static PyValue to_py(const std::vector<T>& v) {
    std::vector<PyValue> items;
    for (const T& x : v) items.push_back(Codec<T>::to_py(x));
    return PyValue::list(std::move(items));
  }
  static bool from_py(const PyValue& v, std::vector<T>& out, std::string& note) {
    if (!v.is_sequence()) return false;
    std::vector<T> result(v.items.size());
    for (std::size_t i = 0; i < v.items.size(); ++i) {
      std::string inner;
      if (!Codec<T>::from_py(v.items[i], result[i], inner)) {
        note = "item " + std::to_string(i) + " is " + v.items[i].repr() + " (" + v.items[i].type_name() + ")" +
               (inner.empty() ? "" : ": " + inner);
        return false;
      }
    }
    out = std::move(result);
    return true;
  }
};

// ---------------------------------------------------------------------------
// Range checks: "" when fine, else what is wrong.

template <class T>
using Check = std::function<std::string(const T&)>;

Check<int> at_least(int lo) {
  return [lo](const int& v) {
    return v >= lo ? "" : "must be at least " + std::to_string(lo) + ", got " + std::to_string(v);
  };
}

Check<int> between(int lo, int hi) {
  return [lo, hi](const int& v) {
    return (v >= lo && v <= hi) ? ""
                                : "must be in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " +
                                      std::to_string(v);
  };
}

Check<double> positive() {
  return [](const double& v) { return v > 0 ? "" : "must be greater than 0, got " + double_text(v); };
}

Check<double> non_negative() {
  return [](const double& v) { return v >= 0 ? "" : "must be at least 0, got " + double_text(v); };
}

Check<double> fraction(bool one_included) {
  return [one_included](const double& v) {
    const bool ok = v >= 0 && (one_included ? v <= 1 : v < 1);
    return ok ? "" : std::string("must be in [0, 1") + (one_included ? "]" : ")") + ", got " + double_text(v);
  };
}

Check<std::string> one_of(std::vector<std::string> allowed) {
  return [allowed](const std::string& v) {
    if (std::find(allowed.begin(), allowed.end(), v) != allowed.end()) return std::string();
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : " or ") + PyValue::of_str(a).repr();
    return "must be " + list + ", got " + PyValue::of_str(v).repr();
  };
}

std::string check_top_n(const std::vector<int>& v) {
  if (v.empty()) return "must list at least one k";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] < 1 || v[i] > 10) return "values must be in 1..10 (Hit@k keeps the top 10), got " + std::to_string(v[i]);
    if (std::find(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v[i]) != v.begin() + static_cast<std::ptrdiff_t>(i)) {
      return "lists " + std::to_string(v[i]) + " twice";
    }
  }
  return "";
}

std::string check_decay_epochs(const std::vector<int>& v) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] < 0) return "epochs must be at least 0, got " + std::to_string(v[i]);
    if (i > 0 && v[i] < v[i - 1]) return "must be non-decreasing, got " + Codec<std::vector<int>>::to_py(v).repr();
  }
  return "";
}

std::string check_feature_names(const std::vector<std::string>& v) {
  if (v.size() != 3) return "must name the 3 inputs (rgb, audio, text), got " + std::to_string(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i].empty()) return "names must not be empty";
    if (std::find(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v[i]) != v.begin() + static_cast<std::ptrdiff_t>(i)) {
      return "names must differ, got " + PyValue::of_str(v[i]).repr() + " twice";
    }
  }
  return "";
}

std::string check_feature_dims(const std::vector<std::vector<int>>& v) {
  const bool shaped = v.size() == 3 && v[0].size() == 1 && v[1].size() == 1 && v[2].size() == 3 && v[0][0] >= 1 &&
                      v[1][0] >= 1 && v[2][0] == 5 && v[2][2] == 1;
  if (shaped) return "";
  return "must be [[rgb width], [audio width], [5, text_max_len, 1]] with widths of at least 1, got " +
         Codec<std::vector<std::vector<int>>>::to_py(v).repr();
}

// ---------------------------------------------------------------------------
// The table.

struct KeyEntry {
  ConfigKey info;
  std::function<PyValue(const Config&)> get;
  // Converts, range-checks and stores; returns "" or the problem (`type_problem` tells which).
  std::function<std::string(Config&, const PyValue&, bool& type_problem)> assign;
  // "" or why the current value is out of range.
  std::function<std::string(const Config&)> check;
};

template <class S>
struct SectionRef {
  const char* name;
  S Config::*member;
};

// Whether a key is required, and if not its default: the ONLY default of the key. Config's
// constructor applies it, parse_config() starts from that, and docs/CONFIG.md shows it.
struct Presence {
  KeyStatus status;
  const char* default_literal;  // nullptr: required
};
constexpr Presence kRequired{KeyStatus::Honoured, nullptr};
Presence defaults_to(const char* literal) { return {KeyStatus::Honoured, literal}; }
Presence no_effect(const char* literal) { return {KeyStatus::NoEffect, literal}; }

template <class T>
std::string type_problem_text(const PyValue& v, const std::string& note) {
  return "expected " + Codec<T>::type() + ", got " + v.repr() + " (" + v.type_name() + ")" +
         (note.empty() ? "" : ": " + note);
}

template <class S, class T>
KeyEntry key(SectionRef<S> sec, T S::*field, const char* name, Presence presence, const char* help,
             Check<T> check = {}) {
  KeyEntry e;
  e.info.section = sec.name;
  e.info.name = name;
  e.info.type = Codec<T>::type();
  e.info.status = presence.status;
  e.info.help = help;
  if (presence.default_literal) {
    T value{};
    std::string note;
    const auto literal = parse_py_literal(presence.default_literal);
    if (!literal || !Codec<T>::from_py(*literal, value, note) || (check && !check(value).empty())) {
      throw std::logic_error(std::string("config table: bad default for ") + sec.name + "." + name);
    }
    e.info.default_value = Codec<T>::to_py(value);
  }
  const auto member = sec.member;
  e.get = [member, field](const Config& cfg) { return Codec<T>::to_py(cfg.*member.*field); };
  e.assign = [member, field, check](Config& cfg, const PyValue& v, bool& type_problem) {
    T value{};
    std::string note;
    type_problem = !Codec<T>::from_py(v, value, note);
    if (type_problem) return type_problem_text<T>(v, note);
    if (check) {
      std::string problem = check(value);
      if (!problem.empty()) return problem;
    }
    cfg.*member.*field = std::move(value);
    return std::string();
  };
  e.check = [member, field, check](const Config& cfg) { return check ? check(cfg.*member.*field) : std::string(); };
  return e;
}

std::vector<KeyEntry> build_table() {
  const SectionRef<ModelSection> model{"MODEL", &Config::model};
  const SectionRef<TrainSection> train{"TRAIN", &Config::train};
  const SectionRef<DataSection> valid{"VALID", &Config::valid};
  const SectionRef<DataSection> test{"TEST", &Config::test};
  const SectionRef<InferSection> infer{"INFER", &Config::infer};
  const char* unused = "the original read it but never used it";
  const char* unused_test = "the original never used [TEST] (evaluation reads [VALID])";
  using M = ModelSection;
  using T = TrainSection;
  using D = DataSection;
  using I = InferSection;
  return {
      key(model, &M::name, "name", no_effect("\"\""), unused),
      key(model, &M::dataset, "dataset", no_effect("\"Baidudata\""), unused),
      key(model, &M::bone_nework, "bone_nework", no_effect("None"), unused),
      key(model, &M::drop_rate, "drop_rate", kRequired,
          "Dropout probability of the text feature and both LSTM outputs (Paddle style: no rescaling in "
          "training, scaled by 1 - p at evaluation)",
          fraction(false)),
      key(model, &M::feature_num, "feature_num", no_effect("3"), unused),
      key(model, &M::feature_names, "feature_names", kRequired,
          "Names of the rgb, audio and text inputs (the feed names of an exported model)",
          Check<std::vector<std::string>>(check_feature_names)),
      key(model, &M::text_max_len, "text_max_len", kRequired,
          "Title length in tokens, [CLS] and [SEP] included; longer titles are cut", between(3, 512)),
      key(model, &M::feature_dims, "feature_dims", kRequired,
          "Input shapes per sample: [[rgb width], [audio width], [5, text_max_len, 1]]",
          Check<std::vector<std::vector<int>>>(check_feature_dims)),
      key(model, &M::feature_dtypes, "feature_dtypes", no_effect("['float32', 'float32', 'int64']"),
          "the original read it but never used it; the inputs are always float32, float32, int64"),
      key(model, &M::feature_lod_level, "feature_lod_level", no_effect("[1, 1, 0]"),
          "the original read it but never used it; rgb and audio are always sequences"),
      key(model, &M::embedding_size, "embedding_size", no_effect("512"), unused),
      key(model, &M::lstm_size_img, "lstm_size_img", kRequired, "Hidden size of each direction of the image LSTM",
          at_least(1)),
      key(model, &M::lstm_size_audio, "lstm_size_audio", kRequired,
          "Hidden size of each direction of the audio LSTM", at_least(1)),
      key(model, &M::num_classes, "num_classes", kRequired, "Number of classes (outputs of the classifier)",
          between(1, limits::kMaxClasses)),
      key(model, &M::top_n, "top_n", kRequired, "The k of each Hit@k metric (1..10)",
          Check<std::vector<int>>(check_top_n)),
      key(model, &M::num_first_classes, "num_first_classes", no_effect("20"), unused),
      key(model, &M::class_name_file, "class_name_file", kRequired,
          "Class list: one name per line, index = line number (or a second tab-separated column)"),
      key(model, &M::ernie_freeze, "ernie_freeze", kRequired,
          "True: ERNIE gets no gradient and stays as loaded (the TextCNN on top still trains)"),
      key(model, &M::lstm_pool_mode, "lstm_pool_mode", kRequired,
          "'text_guide': attention pooling of the LSTM outputs guided by the text feature; any other value: "
          "self-attention"),

      key(train, &T::epoch, "epoch", kRequired, "Training epochs (--epoch_num > 0 overrides)", at_least(1)),
      key(train, &T::learning_rate, "learning_rate", defaults_to("1e-3"),
          "Base learning rate of the centered RMSProp (--learning_rate overrides)", positive()),
      key(train, &T::decay_gamma, "decay_gamma", defaults_to("0.1"),
          "Factor applied to the learning rate at each decay boundary", positive()),
      key(train, &T::l2_weight_decay, "l2_weight_decay", defaults_to("8e-4"),
          "L2 coefficient added to the gradients (the original ignored this key and used the absent key "
          "weight_decay, default 8e-4)",
          non_negative()),
      key(train, &T::decay_epochs, "decay_epochs", defaults_to("[5]"),
          "Learning-rate decay boundaries in nominal epochs of num_samples / batch_size steps, non-decreasing",
          Check<std::vector<int>>(check_decay_epochs)),
      key(train, &T::num_samples, "num_samples", defaults_to("5000000"),
          "Nominal training-set size; only sets the steps per nominal epoch (num_samples / batch_size)",
          at_least(1)),
      key(train, &T::batch_size, "batch_size", kRequired,
          "Training batch size (--batch_size overrides it and VALID.batch_size)", at_least(1)),
      key(train, &T::use_gpu, "use_gpu", defaults_to("True"),
          "Run on CUDA when available, else on the CPU (--use_gpu overrides; the original only read the flag)"),
      key(train, &T::warmup_epoch, "warmup_epoch", defaults_to("5"),
          "Linear learning-rate warmup over this many nominal epochs of steps; 0 = none (the original ignored "
          "this key)",
          at_least(0)),
      key(train, &T::loss_type, "loss_type", kRequired,
          "'sigmoid': multi-hot targets, summed sigmoid cross-entropy; 'softmax': 1/n soft targets, softmax "
          "cross-entropy",
          one_of({"sigmoid", "softmax"})),
      key(train, &T::modal_drop_rate, "modal_drop_rate", no_effect("0.0"), unused),
      key(train, &T::ernie_pretrain_dict_path, "ernie_pretrain_dict_path", kRequired,
          "Directory of the pretrained ERNIE 1.0: its parameters, vocab.txt and ernie_config.json"),
      key(train, &T::filelist, "filelist", kRequired, "Directory of the per-video feature files (one .pkl per video), or a feature pack written by `mvtag pack` (recognised by its first bytes; docs/FORMATS.md)"),
      key(train, &T::url_title_label_file, "url_title_label_file", kRequired,
          "Training list: one video per line, tab-separated: name, title, comma-separated labels"),
      key(train, &T::warmup_proportion, "warmup_proportion", no_effect("0.0"), unused),
      key(train, &T::early_stop, "early_stop", defaults_to("15"),
          "Stop after this many validations in a row without a better Hit@1; 0 = never (the original ignored "
          "this key and used 20)",
          at_least(0)),
      key(train, &T::seed, "seed", defaults_to("0"),
          "Seed of the shuffling, dropout and initialisation, so runs repeat (new in mvtag)", at_least(0)),
      key(train, &T::reshuffle, "reshuffle", defaults_to("True"),
          "Shuffle the training list anew every epoch; False shuffles it once and keeps that order for every "
          "epoch, as the original did (new in mvtag)"),
      key(train, &T::num_workers, "num_workers", defaults_to("2"),
          "Loader threads reading features and tokenizing titles (new in mvtag)", at_least(0)),
      key(train, &T::ernie_cache, "ernie_cache", defaults_to("True"),
          "With MODEL.ernie_freeze: encode each training title with ERNIE once (eval mode) instead of every "
          "epoch with dropout, as the original did; validation titles are always encoded once (new in mvtag, "
          "docs/COMPAT.md)"),
      key(train, &T::ernie_cache_mb, "ernie_cache_mb", defaults_to("2048"),
          "Memory for those encodings, validation titles first; titles beyond it are encoded with their batch "
          "(new in mvtag)",
          at_least(0)),
      key(train, &T::ernie_cache_fp16, "ernie_cache_fp16", defaults_to("False"),
          "Store the cached encodings in float16: half the memory, rounding of about 1e-3 (new in mvtag)"),

      key(valid, &D::batch_size, "batch_size", kRequired, "Validation and evaluation batch size", at_least(1)),
      key(valid, &D::num_samples, "num_samples", no_effect("464"), unused),
      key(valid, &D::filelist, "filelist", kRequired, "Directory of the per-video feature files, or a feature pack"),
      key(valid, &D::url_title_label_file, "url_title_label_file", kRequired,
          "Validation list (same format as the training list)"),

      key(test, &D::batch_size, "batch_size", no_effect("16"), unused_test),
      key(test, &D::num_samples, "num_samples", no_effect("464"), unused_test),
      key(test, &D::filelist, "filelist", no_effect("\"./datasets/feature_files/\""), unused_test),
      key(test, &D::url_title_label_file, "url_title_label_file", no_effect("\"./datasets/val.txt\""),
          unused_test),

      key(infer, &I::batch_size, "batch_size", kRequired, "Inference batch size", at_least(1)),
      key(infer, &I::threshold, "threshold", kRequired, "A class is output when its probability is >= threshold",
          fraction(true)),
      key(infer, &I::filelist, "filelist", kRequired, "Directory of the per-video feature files, or a feature pack"),
      key(infer, &I::url_title_label_file, "url_title_label_file", kRequired,
          "Videos to tag (same format; the labels column is optional and ignored)"),
  };
}

const std::vector<KeyEntry>& entries() {
  static const std::vector<KeyEntry> table = build_table();
  return table;
}

const KeyEntry* find_entry(const std::string& section, const std::string& name) {
  const std::string sec = upper(section);
  for (const auto& e : entries()) {
    if (e.info.section == sec && e.info.name == name) return &e;
  }
  return nullptr;
}

bool known_section(const std::string& upper_name) {
  const auto& s = config_sections();
  return std::find(s.begin(), s.end(), upper_name) != s.end();
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

[[noreturn]] void throw_unknown_key(const std::string& section, const std::string& name, const Location& where) {
  std::string msg = "unknown key '" + name + "' in [" + section + "]";
  const ConfigKey* best = nullptr;
  std::size_t best_distance = 3;
  for (const auto& k : config_keys()) {
    if (k.section != section) continue;
    const std::size_t d = edit_distance(name, k.name);
    if (d < best_distance) {
      best = &k;
      best_distance = d;
    }
  }
  if (best) {
    msg += "; did you mean '" + best->name + "'?";
  } else {
    std::string elsewhere;
    for (const auto& k : config_keys()) {
      if (k.name == name) elsewhere += (elsewhere.empty() ? "[" : ", [") + k.section + "]";
    }
    msg += elsewhere.empty() ? " (docs/CONFIG.md lists the known keys)" : "; it belongs in " + elsewhere;
  }
  throw_error(ErrorKind::Config, msg, where);
}

Location origin_of(const Config& cfg, const std::string& full_name) {
  const auto it = cfg.origins.find(full_name);
  if (it != cfg.origins.end()) return it->second;
  Location l;
  l.file = cfg.source;
  l.key = full_name;
  return l;
}

std::string describe(const Location& where) {
  if (where.file.empty()) return "default";
  return where.line > 0 ? where.file + ":" + std::to_string(where.line) : where.file;
}

// Sets a value after the type and range checks; `not_literal` is why the value was kept as raw
// text (it helps to say so when a non-str key gets it).
void assign(Config& cfg, const KeyEntry& entry, const PyValue& value, const Location& where,
            const std::string& not_literal = "") {
  bool type_problem = false;
  std::string problem = entry.assign(cfg, value, type_problem);
  if (!problem.empty()) {
    if (type_problem && !not_literal.empty() && entry.info.type != "str") {
      problem += " (not a Python literal: " + not_literal + ")";
    }
    throw_error(ErrorKind::Config, problem, where);
  }
  cfg.origins[entry.info.full_name()] = where;
  if (entry.info.status == KeyStatus::NoEffect) {
    spdlog::warn("{}: key '{}' has no effect in mvtag: {}", describe(where), entry.info.full_name(),
                 entry.info.help);
  }
}

// ---------------------------------------------------------------------------
// configparser's syntax.

struct RawEntry {
  std::string section;  // upper case
  std::string key;      // lower case
  std::string value;
  std::size_t line;
};

// '%%' is a literal '%'; configparser's BasicInterpolation rejected any other '%'.
std::string interpolate(const std::string& value, const Location& where) {
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '%') {
      out += value[i];
    } else if (i + 1 < value.size() && value[i + 1] == '%') {
      out += '%';
      ++i;
    } else {
      throw_error(ErrorKind::Config,
                  "a '%' in a value must be written '%%' (configparser interpolation; '%(name)s' references "
                  "are not supported)",
                  where);
    }
  }
  return out;
}

class IniReader {
 public:
  explicit IniReader(const std::string& source) : source_(source) {}

  std::vector<RawEntry> read(const std::string& text) {
    std::istringstream in(text);
    std::string line;
    std::size_t number = 0;
    while (std::getline(in, line)) {
      ++number;
      if (number == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      read_line(line, number);
    }
    for (auto& e : entries_) e.value = interpolate(e.value, at(e.line, e.section + "." + e.key));
    return std::move(entries_);
  }

 private:
  Location at(std::size_t line, const std::string& key = "") const {
    Location l = at_file(source_, line);
    l.key = key;
    return l;
  }

  void read_line(const std::string& line, std::size_t number) {
    const std::string stripped = trim(line);
    if (stripped.empty()) {
      if (open_) ++pending_blank_lines_;
      return;
    }
    if (stripped[0] == '#' || stripped[0] == ';') return;  // full-line comments only, as configparser
    const std::size_t indent = line.find_first_not_of(kSpace);
    if (open_ && indent > indent_) {  // a continuation line of a multi-line value
      entries_[*open_].value += std::string(pending_blank_lines_, '\n') + "\n" + stripped;
      pending_blank_lines_ = 0;
      return;
    }
    pending_blank_lines_ = 0;
    indent_ = indent;
    if (stripped[0] == '[') {
      read_section(stripped, number);
    } else {
      read_option(stripped, number);
    }
  }

  void read_section(const std::string& stripped, std::size_t number) {
    open_.reset();
    if (stripped.size() < 3 || stripped.back() != ']') {
      throw_error(ErrorKind::Config, "malformed section header '" + stripped + "' (expected [SECTION])", at(number));
    }
    const std::string name = stripped.substr(1, stripped.size() - 2);
    section_ = upper(name);
    if (!known_section(section_)) {
      std::string known;
      for (const auto& s : config_sections()) known += (known.empty() ? "" : ", ") + s;
      throw_error(ErrorKind::Config, "unknown section [" + name + "] (known: " + known + ")", at(number));
    }
    const auto [it, fresh] = section_lines_.emplace(section_, number);
    if (!fresh) {
      throw_error(ErrorKind::Config,
                  "duplicate section [" + name + "] (first at line " + std::to_string(it->second) + ")", at(number));
    }
  }

  void read_option(const std::string& stripped, std::size_t number) {
    if (section_.empty()) {
      throw_error(ErrorKind::Config, "'" + stripped + "' is outside a section (a [SECTION] header must come first)",
                  at(number));
    }
    const std::size_t sep = stripped.find_first_of("=:");
    if (sep == std::string::npos) {
      throw_error(ErrorKind::Config, "expected 'key = value', got '" + stripped + "'", at(number));
    }
    const std::string key = lower(trim(stripped.substr(0, sep)));
    if (key.empty()) throw_error(ErrorKind::Config, "missing key name before '" + stripped.substr(sep, 1) + "'", at(number));
    const std::string full = section_ + "." + key;
    const auto [it, fresh] = key_lines_.emplace(full, number);
    if (!fresh) {
      throw_error(ErrorKind::Config, "duplicate key (first at line " + std::to_string(it->second) + ")",
                  at(number, full));
    }
    entries_.push_back({section_, key, trim(stripped.substr(sep + 1)), number});
    open_ = entries_.size() - 1;
  }

  std::string source_;
  std::vector<RawEntry> entries_;
  std::map<std::string, std::size_t> section_lines_;
  std::map<std::string, std::size_t> key_lines_;
  std::string section_;
  std::optional<std::size_t> open_;  // the entry continuation lines extend
  std::size_t indent_ = 0;
  std::size_t pending_blank_lines_ = 0;
};

// Applies "SECTION.key=value"; returns the key's full name.
std::string override_key(Config& cfg, const std::string& assignment, const std::string& origin) {
  Location where;
  where.file = origin.empty() ? "override '" + assignment + "'" : origin;
  const std::size_t eq = assignment.find('=');
  const std::size_t dot = assignment.find('.');
  if (eq == std::string::npos || dot == std::string::npos || dot > eq) {
    throw_error(ErrorKind::Config, "expected SECTION.key=value", where);
  }
  const std::string section = upper(trim(assignment.substr(0, dot)));
  const std::string name = lower(trim(assignment.substr(dot + 1, eq - dot - 1)));
  where.key = section + "." + name;
  if (!known_section(section)) throw_error(ErrorKind::Config, "unknown section [" + section + "]", where);
  const KeyEntry* entry = find_entry(section, name);
  if (!entry) throw_unknown_key(section, name, where);
  const std::string text = trim(assignment.substr(eq + 1));
  std::string why;
  const auto literal = parse_py_literal(text, &why);
  assign(cfg, *entry, literal ? *literal : PyValue::of_str(text), where, literal ? "" : why);
  return where.key;
}

}  // namespace

// ---------------------------------------------------------------------------

const std::vector<std::string>& config_sections() {
  static const std::vector<std::string> sections = {"MODEL", "TRAIN", "VALID", "TEST", "INFER"};
  return sections;
}

const std::vector<ConfigKey>& config_keys() {
  static const std::vector<ConfigKey> keys = [] {
    std::vector<ConfigKey> out;
    for (const auto& e : entries()) out.push_back(e.info);
    return out;
  }();
  return keys;
}

const ConfigKey* find_config_key(const std::string& section, const std::string& name) {
  const std::string sec = upper(section);
  for (const auto& k : config_keys()) {
    if (k.section == sec && k.name == name) return &k;
  }
  return nullptr;
}

Config::Config() {
  for (const auto& e : entries()) {
    if (!e.info.default_value) continue;
    bool type_problem = false;
    e.assign(*this, *e.info.default_value, type_problem);  // checked when the table was built
  }
}

bool Config::operator==(const Config& other) const {
  for (const auto& e : entries()) {
    if (e.get(*this) != e.get(other)) return false;
  }
  return true;
}

Config parse_config(const std::string& text, const std::string& source, const std::vector<std::string>& overrides) {
  Config cfg;  // the table's defaults
  cfg.source = source;
  std::set<std::string> given;
  for (const RawEntry& raw : IniReader(source).read(text)) {
    Location where = at_file(source, raw.line);
    where.key = raw.section + "." + raw.key;
    const KeyEntry* entry = find_entry(raw.section, raw.key);
    if (!entry) throw_unknown_key(raw.section, raw.key, where);
    std::string why;
    const auto literal = parse_py_literal(raw.value, &why);
    if (!literal) {
      spdlog::debug("{}: {} = {} is not a Python literal ({}); kept as a string", describe(where), where.key,
                    raw.value, why);
    }
    assign(cfg, *entry, literal ? *literal : PyValue::of_str(raw.value), where, literal ? "" : why);
    given.insert(where.key);
  }
  for (const auto& o : overrides) given.insert(override_key(cfg, o, ""));
  std::vector<std::string> missing;
  for (const auto& k : config_keys()) {
    if (k.required() && !given.count(k.full_name())) missing.push_back(k.full_name());
  }
  if (!missing.empty()) {
    Location where = at_file(source);
    where.key = missing.front();
    std::string msg = "required key is missing";
    if (missing.size() > 1) {
      msg += " (also missing:";
      for (std::size_t i = 1; i < missing.size(); ++i) msg += " " + missing[i];
      msg += ")";
    }
    throw_error(ErrorKind::Config, msg, where);
  }
  validate_config(cfg);
  return cfg;
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  if (!path_exists(path)) throw_error(ErrorKind::Config, "configuration file not found", at_file(path));
  if (is_directory(path)) throw_error(ErrorKind::Config, "is a directory, expected a configuration file", at_file(path));
  return parse_config(read_file(path, limits::kMaxConfigFileBytes, "kMaxConfigFileBytes"), path, overrides);
}

void set_config_value(Config& cfg, const std::string& section, const std::string& name, const PyValue& value,
                      const Location& origin) {
  const KeyEntry* entry = find_entry(section, name);
  Location where = origin;
  where.key = upper(section) + "." + name;
  if (!entry) throw_unknown_key(upper(section), name, where);
  assign(cfg, *entry, value, where);
}

PyValue get_config_value(const Config& cfg, const std::string& section, const std::string& name) {
  const KeyEntry* entry = find_entry(section, name);
  if (!entry) {
    Location where;
    where.key = upper(section) + "." + name;
    throw_error(ErrorKind::Config, "unknown key", where);
  }
  return entry->get(cfg);
}

void apply_override(Config& cfg, const std::string& assignment, const std::string& origin) {
  override_key(cfg, assignment, origin);
}

void validate_config(const Config& cfg) {
  for (const auto& e : entries()) {
    const std::string problem = e.check(cfg);
    if (!problem.empty()) throw_error(ErrorKind::Config, problem, origin_of(cfg, e.info.full_name()));
  }
  const auto& text_dims = cfg.model.feature_dims[2];
  if (text_dims[1] != cfg.model.text_max_len) {
    throw_error(ErrorKind::Config,
                "the text input is [5, text_max_len, 1] = [5, " + std::to_string(cfg.model.text_max_len) +
                    ", 1] (MODEL.text_max_len from " + describe(origin_of(cfg, "MODEL.text_max_len")) +
                    "), but feature_dims gives [5, " + std::to_string(text_dims[1]) + ", 1]",
                origin_of(cfg, "MODEL.feature_dims"));
  }
}

std::string dump_config(const Config& cfg) {
  std::string out = "# Effective mvtag configuration";
  out += cfg.source.empty() ? "\n" : " (read from " + cfg.source + ")\n";
  std::string section;
  for (const auto& e : entries()) {
    if (e.info.section != section) {
      section = e.info.section;
      out += "\n[" + section + "]\n";
    }
    if (e.info.status == KeyStatus::NoEffect) out += "# no effect in mvtag\n";
    std::string value;
    for (const char c : e.get(cfg).repr()) value += c == '%' ? "%%" : std::string(1, c);
    out += e.info.name + " = " + value + "\n";
  }
  return out;
}

std::string config_reference_markdown() {
  const auto cell = [](const std::string& s) {
    std::string out;
    for (const char c : s) out += c == '|' ? "\\|" : std::string(1, c);
    return out;
  };
  std::string out =
      "| Section | Key | Type | Default | Status | Meaning |\n"
      "|---|---|---|---|---|---|\n";
  for (const auto& k : config_keys()) {
    const std::string def = k.default_value ? "`" + cell(k.default_value->repr()) + "`" : "";
    const std::string status = k.status == KeyStatus::NoEffect ? "no effect" : k.required() ? "required" : "honoured";
    const std::string meaning = k.status == KeyStatus::NoEffect ? "No effect: " + k.help : k.help;
    out += "| " + k.section + " | `" + k.name + "` | " + cell(k.type) + " | " + def + " | " + status + " | " +
           cell(meaning) + " |\n";
  }
  return out;
}

}  // namespace mvtag
