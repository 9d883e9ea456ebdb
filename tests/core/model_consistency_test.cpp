// The configuration's class list and vocabulary against the model's own files.
#include <gtest/gtest.h>

#include "mvtag/core/config/config.h"
#include "mvtag/core/data/model_consistency.h"
#include "test_util.h"

using namespace mvtag;
using mvtag::test::LogCapture;
using mvtag::test::TempDir;

namespace {
Config conf_with(const std::string& class_file, const std::string& ernie_dir) {
  return load_config(std::string(MVTAG_SOURCE_DIR) + "/conf/demo.txt",
                     {"MODEL.class_name_file=" + class_file, "MODEL.num_classes=3",
                      "TRAIN.ernie_pretrain_dict_path=" + ernie_dir});
}
const char* kVocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n美\n食\n";
}  // namespace

TEST(ModelConsistency, SameFilesSayNothing) {
  TempDir dir;
  dir.write("model/class.txt", "a\nb\nc\n");
  dir.write("model/vocab.txt", kVocab);
  dir.write("conf_class.txt", "a\nb\nc\n");
  dir.write("ernie/vocab.txt", kVocab);
  const Config cfg = conf_with(dir.file("conf_class.txt"), dir.file("ernie"));
  LogCapture log(spdlog::level::warn);
  check_class_list(cfg, ClassMap::load(dir.file("model/class.txt")), dir.file("model"));
  check_vocabulary(cfg, Vocab::load(dir.file("model/vocab.txt")), dir.file("model"));
  EXPECT_EQ(log.text(), "");
}

TEST(ModelConsistency, ADifferentClassNameIsWarnedAboutWithTheFirstDifference) {
  TempDir dir;
  dir.write("model/class.txt", "a\nb\nc\n");
  dir.write("conf_class.txt", "a\nB\nC\n");
  const Config cfg = conf_with(dir.file("conf_class.txt"), dir.file("ernie"));
  LogCapture log(spdlog::level::warn);
  check_class_list(cfg, ClassMap::load(dir.file("model/class.txt")), dir.file("model"));
  const auto warnings = log.lines("warning");
  ASSERT_EQ(warnings.size(), 1u) << log.text();
  EXPECT_TRUE(test::contains(warnings[0], "class 1 is 'B' there and 'b' in the model")) << warnings[0];
  EXPECT_TRUE(test::contains(warnings[0], dir.file("conf_class.txt"))) << warnings[0];
}

TEST(ModelConsistency, ADifferentNumberOfClassesIsRefused) {
  TempDir dir;
  dir.write("model/class.txt", "a\nb\nc\n");
  dir.write("conf_class.txt", "a\nb\nc\nd\n");
  const Config cfg = conf_with(dir.file("conf_class.txt"), dir.file("ernie"));
  const Error e = test::thrown_error(
      [&] { check_class_list(cfg, ClassMap::load(dir.file("model/class.txt")), dir.file("model")); },
      ErrorKind::Config);
  test::expect_message_contains(e, {"MODEL.class_name_file", "lists 4 classes", "has 3"});
}

TEST(ModelConsistency, AMissingConfiguredFileIsNotChecked) {
  TempDir dir;
  dir.write("model/class.txt", "a\nb\nc\n");
  dir.write("model/vocab.txt", kVocab);
  const Config cfg = conf_with(dir.file("nowhere.txt"), dir.file("no_ernie"));
  LogCapture log(spdlog::level::warn);
  check_class_list(cfg, ClassMap::load(dir.file("model/class.txt")), dir.file("model"));
  check_vocabulary(cfg, Vocab::load(dir.file("model/vocab.txt")), dir.file("model"));
  EXPECT_EQ(log.text(), "");
}

TEST(ModelConsistency, ADifferentVocabularyIsWarnedAboutWithTheFirstId) {
  TempDir dir;
  dir.write("model/vocab.txt", kVocab);
  dir.write("ernie/vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n美\n饭\n");
  const Config cfg = conf_with(dir.file("c.txt"), dir.file("ernie"));
  LogCapture log(spdlog::level::warn);
  check_vocabulary(cfg, Vocab::load(dir.file("model/vocab.txt")), dir.file("model"));
  const auto warnings = log.lines("warning");
  ASSERT_EQ(warnings.size(), 1u) << log.text();
  EXPECT_TRUE(test::contains(warnings[0], "id 6 is '饭' there and '食' in the model")) << warnings[0];

  // A longer vocabulary differs at its first extra id.
  dir.write("ernie/vocab.txt", std::string(kVocab) + "鱼\n");
  LogCapture log2(spdlog::level::warn);
  check_vocabulary(cfg, Vocab::load(dir.file("model/vocab.txt")), dir.file("model"));
  ASSERT_EQ(log2.lines("warning").size(), 1u) << log2.text();
  EXPECT_TRUE(test::contains(log2.lines("warning")[0], "id 7 is '鱼' there and no token in the model"));
}
