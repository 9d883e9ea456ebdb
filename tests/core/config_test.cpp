#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <sstream>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/config/config.h"
#include "test_util.h"

using namespace mvtag;

namespace {

const std::string kShipped = MVTAG_SOURCE_DIR "/conf/conf.txt";
const std::string kMinimal = MVTAG_FIXTURES "/config/minimal.conf";

std::string minimal_text() { return read_file(kMinimal); }

// `text` with the line that equals `line` replaced by `replacement` (which may span lines).
std::string replace_line(const std::string& text, const std::string& line, const std::string& replacement) {
  const std::size_t at = text.find("\n" + line + "\n");
  EXPECT_NE(at, std::string::npos) << line;
  if (at == std::string::npos) return text;
  return text.substr(0, at + 1) + replacement + text.substr(at + 1 + line.size());
}

// 1-based number of the first line that starts with `prefix`.
std::size_t line_of(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    if (line.compare(0, prefix.size(), prefix) == 0) return n;
  }
  ADD_FAILURE() << "no line starts with " << prefix;
  return 0;
}

Config parse(const std::string& text, const std::vector<std::string>& overrides = {}) {
  return parse_config(text, "test.conf", overrides);
}

// The message of the Error(Config) that `f` throws ("" and a failure when it throws nothing).
std::string config_error(const std::function<void()>& f) {
  const Error e = mvtag::test::thrown_error(f, ErrorKind::Config);
  EXPECT_EQ(e.exit_code(), 2);
  return e.what();
}

std::string parse_error(const std::string& text) {
  return config_error([&] { parse(text); });
}

std::string at(const std::string& text, const std::string& prefix) {
  return "test.conf:" + std::to_string(line_of(text, prefix)) + ": ";
}

}  // namespace

// ---------------------------------------------------------------------------
// The shipped conf/conf.txt

TEST(Config, ShippedConfLoadsWithTheOriginalValues) {
  const Config cfg = load_config(kShipped);
  EXPECT_EQ(cfg.source, kShipped);
  EXPECT_EQ(cfg.model.drop_rate, 0.5);
  EXPECT_EQ(cfg.model.feature_names, (std::vector<std::string>{"rgb", "audio", "text"}));
  EXPECT_EQ(cfg.model.text_max_len, 50);
  EXPECT_EQ(cfg.model.feature_dims, (std::vector<std::vector<int>>{{2048}, {128}, {5, 50, 1}}));
  EXPECT_EQ(cfg.model.rgb_dim(), 2048);
  EXPECT_EQ(cfg.model.audio_dim(), 128);
  EXPECT_EQ(cfg.model.lstm_size_img, 512);
  EXPECT_EQ(cfg.model.lstm_size_audio, 128);  // "128 " in the file: values are stripped
  EXPECT_EQ(cfg.model.num_classes, 110);
  EXPECT_EQ(cfg.model.top_n, (std::vector<int>{1, 2, 3, 5}));
  EXPECT_EQ(cfg.model.class_name_file, "./datasets/class.txt");
  EXPECT_TRUE(cfg.model.ernie_freeze);
  EXPECT_TRUE(cfg.model.text_guided_attention());
  EXPECT_TRUE(cfg.model.bone_nework == PyValue::none());
  EXPECT_EQ(cfg.train.epoch, 30);
  EXPECT_EQ(cfg.train.learning_rate, 0.0007);
  EXPECT_EQ(cfg.train.decay_gamma, 0.2);
  EXPECT_EQ(cfg.train.l2_weight_decay, 8e-4);
  EXPECT_EQ(cfg.train.decay_epochs, (std::vector<int>{5, 10, 15, 20}));
  EXPECT_EQ(cfg.train.num_samples, 70000);
  EXPECT_EQ(cfg.train.batch_size, 64);
  EXPECT_TRUE(cfg.train.use_gpu);
  EXPECT_EQ(cfg.train.warmup_epoch, 5);
  EXPECT_EQ(cfg.train.loss_type, "sigmoid");
  EXPECT_EQ(cfg.train.ernie_pretrain_dict_path, "model_pretrained/ernie_v1_params/");
  EXPECT_EQ(cfg.train.url_title_label_file, "./datasets/train.txt");
  EXPECT_EQ(cfg.train.early_stop, 15);
  EXPECT_EQ(cfg.train.seed, 0);
  EXPECT_EQ(cfg.train.num_workers, 2);
  EXPECT_EQ(cfg.valid.batch_size, 16);
  EXPECT_EQ(cfg.valid.url_title_label_file, "./datasets/val.txt");
  EXPECT_EQ(cfg.infer.batch_size, 64);
  EXPECT_EQ(cfg.infer.threshold, 0.5);
  EXPECT_EQ(cfg.infer.filelist, "./datasets/feature_files/");
  EXPECT_EQ(cfg.origins.at("MODEL.num_classes").line, 15u);
  EXPECT_EQ(cfg.origins.at("INFER.threshold").line, 54u);
  EXPECT_EQ(cfg.origins.count("TRAIN.seed"), 0u);  // a default
}

TEST(Config, DefaultConstructedConfigHoldsTheTableDefaultsOnly) {
  // The key table is the only place defaults live: a Config built in code has them and leaves
  // the required keys empty, so it is not a configuration until they are set.
  const Config cfg;
  for (const auto& key : config_keys()) {
    const PyValue value = get_config_value(cfg, key.section, key.name);
    if (key.default_value) {
      EXPECT_TRUE(value == *key.default_value) << key.full_name() << " = " << value.repr();
    }
  }
  EXPECT_EQ(cfg.train.learning_rate, 1e-3);  // the table's; the shipped file says 0.0007
  EXPECT_EQ(cfg.model.num_classes, 0);        // required: no default
  EXPECT_TRUE(cfg.model.feature_dims.empty());
  EXPECT_TRUE(cfg.source.empty());
  EXPECT_TRUE(cfg.origins.empty());
  EXPECT_EQ(config_error([&] { validate_config(cfg); }),
            "key 'MODEL.feature_names': must name the 3 inputs (rgb, audio, text), got 0");
  // The shipped file is not the defaults: what needs it reads conf/conf.txt.
  EXPECT_TRUE(load_config(kShipped) != cfg);
  EXPECT_EQ(load_config(kShipped).train.learning_rate, 0.0007);
}

TEST(Config, WarnsOnceForEveryKeyWithoutEffect) {
  mvtag::test::LogCapture log(spdlog::level::debug);
  load_config(kShipped);
  const auto warnings = log.lines("warning");
  const std::vector<std::string> expected = {
      "MODEL.name",          "MODEL.dataset",           "MODEL.bone_nework",     "MODEL.feature_num",
      "MODEL.feature_dtypes", "MODEL.feature_lod_level", "MODEL.embedding_size", "MODEL.num_first_classes",
      "TRAIN.modal_drop_rate", "TRAIN.warmup_proportion", "VALID.num_samples",   "TEST.batch_size",
      "TEST.num_samples",    "TEST.filelist",           "TEST.url_title_label_file"};
  ASSERT_EQ(warnings.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NE(warnings[i].find("key '" + expected[i] + "' has no effect in mvtag"), std::string::npos) << warnings[i];
  }
  EXPECT_EQ(warnings[0].rfind(kShipped + ":2: ", 0), 0u) << warnings[0];
}

// ---------------------------------------------------------------------------
// Syntax (configparser + eval)

TEST(Config, AcceptsConfigparserSyntax) {
  std::string text = minimal_text();
  text = replace_line(text, "[MODEL]", "[model]\n  ; an indented comment\n# another");
  text = replace_line(text, "num_classes = 110", "Num_Classes: 7");
  text = replace_line(text, "epoch = 30", "epoch=12   ");
  text = replace_line(text, "top_n = [1, 2, 3, 5]", "top_n = [1,\n    2,\n\n    5]");
  text = replace_line(text, "threshold = 0.5", "threshold = 0.25 # eval() ignored a trailing comment");
  const Config cfg = parse(text);
  EXPECT_EQ(cfg.model.num_classes, 7);
  EXPECT_EQ(cfg.train.epoch, 12);
  EXPECT_EQ(cfg.model.top_n, (std::vector<int>{1, 2, 5}));
  EXPECT_EQ(cfg.infer.threshold, 0.25);
}

TEST(Config, HandlesCrLfAndByteOrderMark) {
  std::string text = "\xEF\xBB\xBF";
  for (const char c : minimal_text()) text += c == '\n' ? std::string("\r\n") : std::string(1, c);
  EXPECT_TRUE(parse(text) == parse(minimal_text()));
}

TEST(Config, KeepsTextThatIsNotALiteral) {
  std::string text = minimal_text();
  text = replace_line(text, "class_name_file = \"./datasets/class.txt\"", "class_name_file = ./my data/class.txt");
  text = replace_line(text, "loss_type = \"sigmoid\"", "loss_type = softmax");
  text = replace_line(text, "lstm_pool_mode = 'text_guide'", "lstm_pool_mode =");
  text = replace_line(text, "filelist = \"./datasets/feature_files/\"", "filelist = ./f # not a comment");
  text = replace_line(text, "url_title_label_file = \"./datasets/val.txt\"", "url_title_label_file = 100%% val.txt");
  mvtag::test::LogCapture log(spdlog::level::debug);
  const Config cfg = parse(text);
  EXPECT_EQ(cfg.model.class_name_file, "./my data/class.txt");
  EXPECT_EQ(cfg.train.loss_type, "softmax");
  EXPECT_EQ(cfg.model.lstm_pool_mode, "");
  EXPECT_FALSE(cfg.model.text_guided_attention());
  EXPECT_EQ(cfg.train.filelist, "./f # not a comment");
  EXPECT_EQ(cfg.valid.url_title_label_file, "100% val.txt");
  const auto debug = log.lines("debug");
  ASSERT_EQ(debug.size(), 5u);
  EXPECT_EQ(debug[0],
            at(text, "class_name_file") +
                "MODEL.class_name_file = ./my data/class.txt is not a Python literal (unexpected '.' at offset 0); "
                "kept as a string");
}

// ---------------------------------------------------------------------------
// Errors name the file, the line and the key

TEST(Config, SyntaxErrorsNameTheLine) {
  const std::string base = minimal_text();
  std::string text = replace_line(base, "num_classes = 110", "num_classes 110");
  EXPECT_EQ(parse_error(text), at(text, "num_classes") + "expected 'key = value', got 'num_classes 110'");

  text = "epoch = 3\n" + base;
  EXPECT_EQ(parse_error(text), "test.conf:1: 'epoch = 3' is outside a section (a [SECTION] header must come first)");

  text = replace_line(base, "[VALID]", "[VALID]\n[model]");
  EXPECT_EQ(parse_error(text), at(text, "[model]") + "duplicate section [model] (first at line 2)");

  text = replace_line(base, "epoch = 30", "epoch = 30\nEPOCH = 31");
  EXPECT_EQ(parse_error(text), at(text, "EPOCH") + "key 'TRAIN.epoch': duplicate key (first at line " +
                                   std::to_string(line_of(text, "epoch")) + ")");

  text = replace_line(base, "[INFER]", "[INFERENCE]");
  EXPECT_EQ(parse_error(text),
            at(text, "[INFERENCE]") + "unknown section [INFERENCE] (known: MODEL, TRAIN, VALID, TEST, INFER)");

  text = "[DEFAULT]\nbatch_size = 8\n" + base;
  EXPECT_EQ(parse_error(text), "test.conf:1: unknown section [DEFAULT] (known: MODEL, TRAIN, VALID, TEST, INFER)");

  text = replace_line(base, "[TRAIN]", "[TRAIN");
  EXPECT_EQ(parse_error(text), at(text, "[TRAIN") + "malformed section header '[TRAIN' (expected [SECTION])");

  text = replace_line(base, "epoch = 30", "= 30");
  EXPECT_EQ(parse_error(text), at(text, "= 30") + "missing key name before '='");

  text = replace_line(base, "epoch = 30", "epoch = 30%");
  EXPECT_EQ(parse_error(text),
            at(text, "epoch") +
                "key 'TRAIN.epoch': a '%' in a value must be written '%%' (configparser interpolation; "
                "'%(name)s' references are not supported)");
}

TEST(Config, UnknownKeysSuggestTheClosestKnownKey) {
  const std::string base = minimal_text();
  std::string text = replace_line(base, "lstm_size_img = 512", "lstm_size_im = 512");
  EXPECT_EQ(parse_error(text), at(text, "lstm_size_im") +
                                   "key 'MODEL.lstm_size_im': unknown key 'lstm_size_im' in [MODEL]; did you mean "
                                   "'lstm_size_img'?");

  text = replace_line(base, "[VALID]", "[VALID]\nlearning_rate = 0.1");
  EXPECT_EQ(parse_error(text), at(text, "learning_rate") +
                                   "key 'VALID.learning_rate': unknown key 'learning_rate' in [VALID]; it belongs in "
                                   "[TRAIN]");

  text = replace_line(base, "[TRAIN]", "[TRAIN]\ncompletely_new = 1");
  EXPECT_EQ(parse_error(text), at(text, "completely_new") +
                                   "key 'TRAIN.completely_new': unknown key 'completely_new' in [TRAIN] "
                                   "(docs/CONFIG.md lists the known keys)");
}

TEST(Config, WrongTypesNameTheExpectedType) {
  const std::string base = minimal_text();
  const auto error_for = [&](const std::string& line, const std::string& replacement) {
    const std::string text = replace_line(base, line, replacement);
    const std::string message = parse_error(text);
    const std::string last_line = replacement.substr(replacement.rfind('\n') + 1);
    const std::string prefix = at(text, last_line);
    EXPECT_EQ(message.rfind(prefix, 0), 0u) << message;
    return message.substr(prefix.size());
  };
  EXPECT_EQ(error_for("epoch = 30", "epoch = abc"),
            "key 'TRAIN.epoch': expected int, got 'abc' (str) (not a Python literal: name 'abc' is not a literal)");
  EXPECT_EQ(error_for("epoch = 30", "epoch = 3.5"), "key 'TRAIN.epoch': expected int, got 3.5 (float)");
  EXPECT_EQ(error_for("epoch = 30", "epoch = \"30\""), "key 'TRAIN.epoch': expected int, got '30' (str)");
  EXPECT_EQ(error_for("batch_size = 64", "batch_size = True"), "key 'TRAIN.batch_size': expected int, got True (bool)");
  EXPECT_EQ(error_for("num_classes = 110", "num_classes = 9999999999"),
            "key 'MODEL.num_classes': expected int, got 9999999999 (int): out of the 32-bit integer range");
  EXPECT_EQ(error_for("ernie_freeze = True", "ernie_freeze = 1"),
            "key 'MODEL.ernie_freeze': expected bool, got 1 (int)");
  EXPECT_EQ(error_for("ernie_freeze = True", "ernie_freeze = true"),
            "key 'MODEL.ernie_freeze': expected bool, got 'true' (str) (not a Python literal: name 'true' is not a "
            "literal)");
  EXPECT_EQ(error_for("threshold = 0.5", "threshold = None"), "key 'INFER.threshold': expected float, got None (NoneType)");
  EXPECT_EQ(error_for("top_n = [1, 2, 3, 5]", "top_n = [1, 'a']"),
            "key 'MODEL.top_n': expected list[int], got [1, 'a'] (list): item 1 is 'a' (str)");
  EXPECT_EQ(error_for("top_n = [1, 2, 3, 5]", "top_n = 5"), "key 'MODEL.top_n': expected list[int], got 5 (int)");
  EXPECT_EQ(error_for("feature_dims = [[2048], [128], [5, 50, 1]]", "feature_dims = [2048, 128]"),
            "key 'MODEL.feature_dims': expected list[list[int]], got [2048, 128] (list): item 0 is 2048 (int)");
  EXPECT_EQ(error_for("class_name_file = \"./datasets/class.txt\"", "class_name_file = 5"),
            "key 'MODEL.class_name_file': expected str, got 5 (int)");
  EXPECT_EQ(error_for("[MODEL]", "[MODEL]\nfeature_num = 'three'"),
            "key 'MODEL.feature_num': expected int, got 'three' (str)");
}

TEST(Config, IntsServeAsFloatsAndTuplesAsLists) {
  std::string text = replace_line(minimal_text(), "threshold = 0.5", "threshold = 1");
  text = replace_line(text, "top_n = [1, 2, 3, 5]", "top_n = (1, 2)");
  text = replace_line(text, "feature_names = ['rgb', 'audio', 'text']", "feature_names = 'r', 'a', 't'");
  const Config cfg = parse(text);
  EXPECT_EQ(cfg.infer.threshold, 1.0);
  EXPECT_EQ(cfg.model.top_n, (std::vector<int>{1, 2}));
  EXPECT_EQ(cfg.model.feature_names, (std::vector<std::string>{"r", "a", "t"}));
}

TEST(Config, RangesAreChecked) {
  const std::string base = minimal_text();
  const auto error_for = [&](const std::string& line, const std::string& replacement) {
    const std::string text = replace_line(base, line, replacement);
    const std::string message = parse_error(text);
    const std::string last_line = replacement.substr(replacement.rfind('\n') + 1);
    const std::string prefix = at(text, last_line);
    EXPECT_EQ(message.rfind(prefix, 0), 0u) << message;
    return message.substr(prefix.size());
  };
  EXPECT_EQ(error_for("num_classes = 110", "num_classes = 0"), "key 'MODEL.num_classes': must be in 1..1000000, got 0");
  EXPECT_EQ(error_for("batch_size = 64", "batch_size = 0"), "key 'TRAIN.batch_size': must be at least 1, got 0");
  EXPECT_EQ(error_for("batch_size = 16", "batch_size = -2"), "key 'VALID.batch_size': must be at least 1, got -2");
  EXPECT_EQ(error_for("drop_rate = 0.5", "drop_rate = 1.0"), "key 'MODEL.drop_rate': must be in [0, 1), got 1.0");
  EXPECT_EQ(error_for("drop_rate = 0.5", "drop_rate = -0.1"), "key 'MODEL.drop_rate': must be in [0, 1), got -0.1");
  EXPECT_EQ(error_for("threshold = 0.5", "threshold = 1.5"), "key 'INFER.threshold': must be in [0, 1], got 1.5");
  EXPECT_EQ(error_for("top_n = [1, 2, 3, 5]", "top_n = [1, 11]"),
            "key 'MODEL.top_n': values must be in 1..10 (Hit@k keeps the top 10), got 11");
  EXPECT_EQ(error_for("top_n = [1, 2, 3, 5]", "top_n = [0]"),
            "key 'MODEL.top_n': values must be in 1..10 (Hit@k keeps the top 10), got 0");
  EXPECT_EQ(error_for("top_n = [1, 2, 3, 5]", "top_n = [2, 1, 2]"), "key 'MODEL.top_n': lists 2 twice");
  EXPECT_EQ(error_for("top_n = [1, 2, 3, 5]", "top_n = []"), "key 'MODEL.top_n': must list at least one k");
  EXPECT_EQ(error_for("lstm_size_img = 512", "lstm_size_img = 0"), "key 'MODEL.lstm_size_img': must be at least 1, got 0");
  EXPECT_EQ(error_for("lstm_size_audio = 128", "lstm_size_audio = 0"),
            "key 'MODEL.lstm_size_audio': must be at least 1, got 0");
  EXPECT_EQ(error_for("text_max_len = 50", "text_max_len = 2"), "key 'MODEL.text_max_len': must be in 3..512, got 2");
  EXPECT_EQ(error_for("text_max_len = 50", "text_max_len = 513"), "key 'MODEL.text_max_len': must be in 3..512, got 513");
  EXPECT_EQ(error_for("[TRAIN]", "[TRAIN]\ndecay_epochs = [10, 5]"),
            "key 'TRAIN.decay_epochs': must be non-decreasing, got [10, 5]");
  EXPECT_EQ(error_for("[TRAIN]", "[TRAIN]\nlearning_rate = 0"), "key 'TRAIN.learning_rate': must be greater than 0, got 0.0");
  EXPECT_EQ(error_for("[TRAIN]", "[TRAIN]\nl2_weight_decay = -1e-4"),
            "key 'TRAIN.l2_weight_decay': must be at least 0, got -0.0001");
  EXPECT_EQ(error_for("[TRAIN]", "[TRAIN]\nwarmup_epoch = -1"), "key 'TRAIN.warmup_epoch': must be at least 0, got -1");
  EXPECT_EQ(error_for("loss_type = \"sigmoid\"", "loss_type = 'hinge'"),
            "key 'TRAIN.loss_type': must be 'sigmoid' or 'softmax', got 'hinge'");
  EXPECT_EQ(error_for("feature_names = ['rgb', 'audio', 'text']", "feature_names = ['rgb', 'audio']"),
            "key 'MODEL.feature_names': must name the 3 inputs (rgb, audio, text), got 2");
  EXPECT_EQ(error_for("feature_dims = [[2048], [128], [5, 50, 1]]", "feature_dims = [[2048], [128], [4, 50, 1]]"),
            "key 'MODEL.feature_dims': must be [[rgb width], [audio width], [5, text_max_len, 1]] with widths of at "
            "least 1, got [[2048], [128], [4, 50, 1]]");
}

TEST(Config, FeatureDimsMustAgreeWithTextMaxLen) {
  const std::string text = replace_line(minimal_text(), "text_max_len = 50", "text_max_len = 64");
  EXPECT_EQ(parse_error(text), at(text, "feature_dims") +
                                   "key 'MODEL.feature_dims': the text input is [5, text_max_len, 1] = [5, 64, 1] "
                                   "(MODEL.text_max_len from test.conf:" +
                                   std::to_string(line_of(text, "text_max_len")) +
                                   "), but feature_dims gives [5, 50, 1]");
  // Both changed together is fine.
  const Config cfg = parse(replace_line(text, "feature_dims = [[2048], [128], [5, 50, 1]]",
                                        "feature_dims = [[1024], [64], [5, 64, 1]]"));
  EXPECT_EQ(cfg.model.rgb_dim(), 1024);
  EXPECT_EQ(cfg.model.audio_dim(), 64);
}

TEST(Config, MissingRequiredKeysAreNamed) {
  const std::string base = minimal_text();
  EXPECT_EQ(parse_error(replace_line(base, "num_classes = 110", "")),
            "test.conf: key 'MODEL.num_classes': required key is missing");
  const std::string no_infer = base.substr(0, base.find("[INFER]"));
  EXPECT_EQ(parse_error(no_infer),
            "test.conf: key 'INFER.batch_size': required key is missing (also missing: INFER.threshold "
            "INFER.filelist INFER.url_title_label_file)");
  EXPECT_EQ(config_error([] { load_config(MVTAG_FIXTURES "/config/absent.conf"); }),
            MVTAG_FIXTURES "/config/absent.conf: configuration file not found");
  EXPECT_EQ(config_error([] { load_config(MVTAG_FIXTURES "/config"); }),
            MVTAG_FIXTURES "/config: is a directory, expected a configuration file");
}

TEST(Config, OmittedKeysTakeTheirDefaults) {
  const Config cfg = load_config(kMinimal);
  EXPECT_EQ(cfg.train.learning_rate, 1e-3);  // the original code's defaults
  EXPECT_EQ(cfg.train.decay_gamma, 0.1);
  EXPECT_EQ(cfg.train.l2_weight_decay, 8e-4);
  EXPECT_EQ(cfg.train.decay_epochs, (std::vector<int>{5}));
  EXPECT_EQ(cfg.train.num_samples, 5000000);
  EXPECT_TRUE(cfg.train.use_gpu);
  EXPECT_EQ(cfg.train.warmup_epoch, 5);  // the shipped file's values
  EXPECT_EQ(cfg.train.early_stop, 15);
  EXPECT_EQ(cfg.train.seed, 0);  // new keys
  EXPECT_EQ(cfg.train.num_workers, 2);
  EXPECT_EQ(cfg.model.embedding_size, 512);
  EXPECT_EQ(cfg.test.batch_size, 16);
  for (const auto& key : config_keys()) {
    if (key.default_value) {
      EXPECT_TRUE(get_config_value(cfg, key.section, key.name) == *key.default_value) << key.full_name();
    }
  }
}

TEST(Config, RequiredKeysAreThoseTheOriginalReadWithoutDefault) {
  std::set<std::string> required;
  for (const auto& key : config_keys()) {
    if (key.required()) required.insert(key.full_name());
  }
  const std::set<std::string> expected = {
      "MODEL.drop_rate",        "MODEL.feature_names",  "MODEL.text_max_len",       "MODEL.feature_dims",
      "MODEL.lstm_size_img",    "MODEL.lstm_size_audio", "MODEL.num_classes",       "MODEL.top_n",
      "MODEL.class_name_file",  "MODEL.ernie_freeze",   "MODEL.lstm_pool_mode",     "TRAIN.epoch",
      "TRAIN.batch_size",       "TRAIN.loss_type",      "TRAIN.ernie_pretrain_dict_path", "TRAIN.filelist",
      "TRAIN.url_title_label_file", "VALID.batch_size", "VALID.filelist",           "VALID.url_title_label_file",
      "INFER.batch_size",       "INFER.threshold",      "INFER.filelist",           "INFER.url_title_label_file"};
  EXPECT_EQ(required, expected);
}

// ---------------------------------------------------------------------------
// The table

TEST(Config, TableIsConsistent) {
  std::set<std::string> names;
  std::size_t section_index = 0;
  for (const auto& key : config_keys()) {
    EXPECT_TRUE(names.insert(key.full_name()).second) << "twice: " << key.full_name();
    EXPECT_FALSE(key.help.empty()) << key.full_name();
    EXPECT_EQ(key.name.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), std::string::npos) << key.full_name();
    while (section_index < config_sections().size() && config_sections()[section_index] != key.section) ++section_index;
    EXPECT_LT(section_index, config_sections().size()) << "out of section order: " << key.full_name();
    if (key.status == KeyStatus::NoEffect) {
      EXPECT_FALSE(key.required()) << key.full_name();
    }
    EXPECT_EQ(find_config_key(key.section, key.name), &key);
  }
  EXPECT_EQ(find_config_key("train", "seed"), find_config_key("TRAIN", "seed"));
  EXPECT_EQ(find_config_key("TRAIN", "SEED"), nullptr);
  EXPECT_EQ(find_config_key("TRAIN", "drop_rate"), nullptr);
  EXPECT_EQ(find_config_key("TRAIN", "l2_weight_decay")->type, "float");
  EXPECT_EQ(find_config_key("MODEL", "feature_dims")->type, "list[list[int]]");
  EXPECT_EQ(find_config_key("MODEL", "bone_nework")->type, "any");
  for (const char* honoured : {"TRAIN.early_stop", "TRAIN.warmup_epoch", "TRAIN.l2_weight_decay", "MODEL.feature_dims"}) {
    const std::string full = honoured;
    const auto* key = find_config_key(full.substr(0, full.find('.')), full.substr(full.find('.') + 1));
    ASSERT_NE(key, nullptr);
    EXPECT_EQ(key->status, KeyStatus::Honoured) << full;
  }
}

TEST(Config, EqualityComparesValuesOnly) {
  Config a;
  Config b;
  b.source = "elsewhere.conf";
  b.origins["TRAIN.seed"] = at_file("x", 3);
  EXPECT_TRUE(a == b);
  b.train.seed = 1;
  EXPECT_TRUE(a != b);
  Config c;
  c.model.bone_nework = PyValue::of_str("resnet");
  EXPECT_TRUE(a != c);
}

// ---------------------------------------------------------------------------
// Overrides

TEST(Config, OverridesAreParsedAndChecked) {
  Config cfg = load_config(kShipped);
  apply_override(cfg, "TRAIN.epoch=12");
  EXPECT_EQ(cfg.train.epoch, 12);
  apply_override(cfg, " train . EPOCH =  7 ");
  EXPECT_EQ(cfg.train.epoch, 7);
  apply_override(cfg, "TRAIN.filelist=/data/features dir/");
  EXPECT_EQ(cfg.train.filelist, "/data/features dir/");
  apply_override(cfg, "MODEL.top_n=[1, 3]");
  EXPECT_EQ(cfg.model.top_n, (std::vector<int>{1, 3}));
  apply_override(cfg, "INFER.url_title_label_file='a=b.txt'");
  EXPECT_EQ(cfg.infer.url_title_label_file, "a=b.txt");
  EXPECT_EQ(cfg.origins.at("TRAIN.epoch").file, "override ' train . EPOCH =  7 '");

  EXPECT_EQ(config_error([&] { apply_override(cfg, "TRAIN.epoch=abc"); }),
            "override 'TRAIN.epoch=abc': key 'TRAIN.epoch': expected int, got 'abc' (str) (not a Python literal: "
            "name 'abc' is not a literal)");
  EXPECT_EQ(config_error([&] { apply_override(cfg, "TRAIN.epoch=abc", "--set TRAIN.epoch=abc"); }),
            "--set TRAIN.epoch=abc: key 'TRAIN.epoch': expected int, got 'abc' (str) (not a Python literal: name "
            "'abc' is not a literal)");
  EXPECT_EQ(config_error([&] { apply_override(cfg, "TRAIN.batch_size=0"); }),
            "override 'TRAIN.batch_size=0': key 'TRAIN.batch_size': must be at least 1, got 0");
  EXPECT_EQ(config_error([&] { apply_override(cfg, "TRAIN.epoch"); }),
            "override 'TRAIN.epoch': expected SECTION.key=value");
  EXPECT_EQ(config_error([&] { apply_override(cfg, "epoch=3.5"); }), "override 'epoch=3.5': expected SECTION.key=value");
  EXPECT_EQ(config_error([&] { apply_override(cfg, "TRIAN.epoch=3"); }),
            "override 'TRIAN.epoch=3': key 'TRIAN.epoch': unknown section [TRIAN]");
  EXPECT_EQ(config_error([&] { apply_override(cfg, "TRAIN.epochs=3"); }),
            "override 'TRAIN.epochs=3': key 'TRAIN.epochs': unknown key 'epochs' in [TRAIN]; did you mean 'epoch'?");
  EXPECT_EQ(cfg.train.epoch, 7);  // failed overrides change nothing
  EXPECT_EQ(cfg.train.batch_size, 64);
}

TEST(Config, OverridingAKeyWithoutEffectWarns) {
  Config cfg;
  mvtag::test::LogCapture log(spdlog::level::debug);
  apply_override(cfg, "TEST.batch_size=3", "--set TEST.batch_size=3");
  EXPECT_EQ(cfg.test.batch_size, 3);
  const auto warnings = log.lines("warning");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].rfind("--set TEST.batch_size=3: key 'TEST.batch_size' has no effect in mvtag", 0), 0u)
      << warnings[0];
}

TEST(Config, LoadAppliesOverridesAfterTheFile) {
  const Config cfg = load_config(kShipped, {"TRAIN.batch_size=8", "VALID.batch_size=4"});
  EXPECT_EQ(cfg.train.batch_size, 8);
  EXPECT_EQ(cfg.valid.batch_size, 4);
  EXPECT_EQ(cfg.infer.batch_size, 64);
  // Overrides may supply a required key, and may change keys that must agree, together.
  const std::string text = replace_line(minimal_text(), "num_classes = 110", "");
  EXPECT_EQ(parse(text, {"MODEL.num_classes=3"}).model.num_classes, 3);
  const Config wide = load_config(kShipped, {"MODEL.text_max_len=64", "MODEL.feature_dims=[[2048],[128],[5,64,1]]"});
  EXPECT_EQ(wide.model.text_max_len, 64);
  EXPECT_EQ(config_error([] { load_config(kShipped, {"MODEL.text_max_len=64"}); }),
            kShipped +
                ":9: key 'MODEL.feature_dims': the text input is [5, text_max_len, 1] = [5, 64, 1] (MODEL.text_max_len "
                "from override 'MODEL.text_max_len=64'), but feature_dims gives [5, 50, 1]");
}

TEST(Config, SetConfigValueChecksAndRecordsTheOrigin) {
  Config cfg;
  set_config_value(cfg, "TRAIN", "batch_size", PyValue::of_int(32), at_file("--batch_size"));
  EXPECT_EQ(cfg.train.batch_size, 32);
  EXPECT_EQ(cfg.origins.at("TRAIN.batch_size").file, "--batch_size");
  set_config_value(cfg, "train", "use_gpu", PyValue::of_bool(false), at_file("--use_gpu"));
  EXPECT_FALSE(cfg.train.use_gpu);
  EXPECT_TRUE(get_config_value(cfg, "TRAIN", "use_gpu") == PyValue::of_bool(false));
  EXPECT_EQ(config_error([&] { set_config_value(cfg, "TRAIN", "batch_size", PyValue::of_int(0), at_file("--batch_size")); }),
            "--batch_size: key 'TRAIN.batch_size': must be at least 1, got 0");
  EXPECT_EQ(config_error([&] { set_config_value(cfg, "VALID", "epoch", PyValue::of_int(1), at_file("--epoch_num")); }),
            "--epoch_num: key 'VALID.epoch': unknown key 'epoch' in [VALID]; it belongs in [TRAIN]");
  EXPECT_EQ(config_error([&] { get_config_value(cfg, "TRAIN", "nope"); }), "key 'TRAIN.nope': unknown key");
}

TEST(Config, ValidateRechecksChangesMadeInCode) {
  const std::string text = minimal_text();
  Config cfg = parse(text);
  validate_config(cfg);
  cfg.model.num_classes = 0;
  EXPECT_EQ(config_error([&] { validate_config(cfg); }),
            at(text, "num_classes = ") + "key 'MODEL.num_classes': must be in 1..1000000, got 0");
  Config loaded = load_config(kShipped);
  loaded.infer.threshold = 2;
  EXPECT_EQ(config_error([&] { validate_config(loaded); }),
            kShipped + ":54: key 'INFER.threshold': must be in [0, 1], got 2.0");
}

// ---------------------------------------------------------------------------
// Dump

TEST(Config, DumpReadsBackToTheSameConfig) {
  const Config shipped = load_config(kShipped);
  EXPECT_TRUE(parse(dump_config(shipped)) == shipped);

  Config odd = shipped;
  odd.model.name = "it's \"quoted\" # not a comment; 100% \xE4\xB8\xAD\n\ttab";
  odd.model.bone_nework = PyValue::tuple({PyValue::of_str("resnet"), PyValue::of_float(1e-7)});
  odd.train.learning_rate = 0.1 + 0.2;
  odd.train.decay_epochs = {};
  odd.train.use_gpu = false;
  odd.model.lstm_pool_mode = "self";
  odd.valid.filelist = "";
  odd.train.seed = 12345;
  const std::string dumped = dump_config(odd);
  const Config back = parse(dumped);
  EXPECT_TRUE(back == odd) << dumped;
  EXPECT_EQ(back.model.name, odd.model.name);
}

TEST(Config, DumpListsEverySectionAndKey) {
  const std::string dumped = dump_config(load_config(kShipped));
  EXPECT_EQ(dumped.rfind("# Effective mvtag configuration (read from " + kShipped + ")\n", 0), 0u);
  std::size_t last = 0;
  for (const auto& section : config_sections()) {
    const std::size_t pos = dumped.find("\n[" + section + "]\n");
    ASSERT_NE(pos, std::string::npos) << section;
    EXPECT_GT(pos, last) << section;
    last = pos;
  }
  std::size_t assignments = 0;
  std::istringstream in(dumped);
  std::string line, previous;
  while (std::getline(in, line)) {
    if (line.find(" = ") != std::string::npos) {
      ++assignments;
      const std::string name = line.substr(0, line.find(" = "));
      bool no_effect = false;
      for (const auto& key : config_keys()) {
        if (key.name == name && key.status == KeyStatus::NoEffect) no_effect = true;
      }
      if (name != "batch_size" && name != "num_samples" && name != "filelist" && name != "url_title_label_file") {
        EXPECT_EQ(previous == "# no effect in mvtag", no_effect) << name;
      }
    }
    previous = line;
  }
  EXPECT_EQ(assignments, config_keys().size());
  EXPECT_NE(dumped.find("\n[MODEL]\n# no effect in mvtag\nname = ''\n"), std::string::npos);
  EXPECT_NE(dumped.find("\nlearning_rate = 0.0007\n"), std::string::npos);
  EXPECT_NE(dumped.find("\nfeature_dims = [[2048], [128], [5, 50, 1]]\n"), std::string::npos);
  EXPECT_NE(dumped.find("\n[TEST]\n# no effect in mvtag\nbatch_size = 16\n"), std::string::npos);
  EXPECT_NE(dumped.find("\n[VALID]\nbatch_size = 16\n# no effect in mvtag\nnum_samples = 464\n"), std::string::npos);
}

// ---------------------------------------------------------------------------
// Reference documentation

TEST(Config, ReferenceTableHasARowPerKey) {
  const std::string md = config_reference_markdown();
  EXPECT_EQ(md.rfind("| Section | Key | Type | Default | Status | Meaning |\n|---|---|---|---|---|---|\n", 0), 0u);
  EXPECT_EQ(static_cast<std::size_t>(std::count(md.begin(), md.end(), '\n')), config_keys().size() + 2);
  EXPECT_NE(md.find("| TRAIN | `seed` | int | `0` | honoured | "), std::string::npos);
  EXPECT_NE(md.find("| MODEL | `num_classes` | int |  | required | "), std::string::npos);
  EXPECT_NE(md.find("| TEST | `batch_size` | int | `16` | no effect | No effect: "), std::string::npos);
  EXPECT_NE(md.find("| TRAIN | `learning_rate` | float | `0.001` | honoured | "), std::string::npos);
}

TEST(Config, DocsContainTheGeneratedTable) {
  const std::string docs = read_file(MVTAG_SOURCE_DIR "/docs/CONFIG.md");
  const std::string table = config_reference_markdown();
  EXPECT_NE(docs.find(table), std::string::npos)
      << "docs/CONFIG.md is out of date; replace its key table with:\n" << table;
}
