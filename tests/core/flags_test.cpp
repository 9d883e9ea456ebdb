// The flag table: one entry per flag (and group of verbs), one default each, and the docs
// generated from it.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "mvtag/core/base/io.h"
#include "mvtag/core/config/config.h"
#include "mvtag/core/config/flags.h"
#include "mvtag/train/train_options.h"

using namespace mvtag;

namespace {

std::map<std::string, FlagDefaults> run_defaults() { return {{"train", flag_defaults(TrainOptions{})}}; }

// The members an options struct names, with the FlagValue of each member's type.
template <class Options>
std::map<std::string, FlagValue> members_of() {
  std::map<std::string, FlagValue> out;
  Options options;
  Options::visit_flag_members(options, [&](const char* member, auto& value) {
    out[member] = flag_value_of<std::decay_t<decltype(value)>>();
  });
  return out;
}

const char* key_type(FlagValue v) {
  switch (v) {
    case FlagValue::Int:
      return "int";
    case FlagValue::Float:
      return "float";
    case FlagValue::Bool:
      return "bool";
    default:
      return "?";
  }
}

}  // namespace

TEST(Flags, TableIsConsistent) {
  for (const auto& f : flag_table()) {
    ASSERT_FALSE(f.names.empty());
    for (const auto& name : f.names) EXPECT_EQ(name.rfind("--", 0), 0u) << name;
    EXPECT_FALSE(f.verbs.empty()) << f.name();
    EXPECT_FALSE(f.help.empty()) << f.name();
    EXPECT_EQ(f.value_name.empty(), f.value == FlagValue::Switch) << f.name();
    switch (f.target) {
      case FlagTarget::Keys:
        EXPECT_TRUE(f.member.empty()) << f.name();
        ASSERT_FALSE(f.keys.empty()) << f.name();
        for (const auto& full : f.keys) {
          const std::size_t dot = full.find('.');
          const ConfigKey* key = find_config_key(full.substr(0, dot), full.substr(dot + 1));
          ASSERT_NE(key, nullptr) << f.name() << " sets the unknown key " << full;
          EXPECT_EQ(key->type, key_type(f.value)) << f.name() << " sets " << full;
          EXPECT_EQ(key->status, KeyStatus::Honoured) << f.name() << " sets " << full;
        }
        break;
      case FlagTarget::Source:
      case FlagTarget::Run:
        EXPECT_TRUE(f.keys.empty()) << f.name();
        EXPECT_FALSE(f.member.empty()) << f.name();
        EXPECT_FALSE(f.positive_only) << f.name();
        break;
    }
  }
  // A spelling means one flag per verb.
  for (const auto& verb : flag_verbs()) {
    std::set<std::string> names;
    for (const FlagSpec* f : flags_for(verb)) {
      for (const auto& name : f->names) EXPECT_TRUE(names.insert(name).second) << verb << ": " << name << " twice";
    }
  }
  EXPECT_EQ(flag_verbs(), (std::vector<std::string>{"train", "eval", "infer", "export", "import-paddle", "serve"}));
}

TEST(Flags, EveryMemberFlagBindsAMemberOfItsType) {
  const auto source = members_of<ConfigSource>();
  const auto train = members_of<TrainOptions>();
  for (const auto& verb : flag_verbs()) {
    std::set<std::string> bound;
    for (const FlagSpec* f : flags_for(verb)) {
      if (f->target == FlagTarget::Keys) continue;
      const auto& members = f->target == FlagTarget::Source ? source : train;
      if (f->target == FlagTarget::Run) {
        EXPECT_EQ(verb, "train") << f->name();  // the only verb with run options
      }
      const auto it = members.find(f->member);
      ASSERT_NE(it, members.end()) << verb << ": " << f->name() << " binds " << f->member;
      EXPECT_EQ(it->second, f->value) << verb << ": " << f->name();
      bound.insert(f->member);
    }
    // Every verb takes every configuration flag; train a flag for every run option.
    for (const auto& member : source) EXPECT_TRUE(bound.count(member.first)) << verb << " lacks " << member.first;
    if (verb == "train") {
      for (const auto& member : train) EXPECT_TRUE(bound.count(member.first)) << "train lacks " << member.first;
    }
  }
}

TEST(Flags, EverySpellingThatWorkedStillWorks) {
  const std::map<std::string, std::vector<std::string>> spellings = {
      {"train",
       {"--conf", "--config", "--set", "--dump-config", "--batch_size", "--learning_rate", "--epoch_num", "--use_gpu",
        "--save_dir", "--pretrain", "--resume", "--valid_interval", "--log_interval", "--max-steps", "--nproc",
        "--dist_timeout"}},
      {"eval", {"--conf", "--config", "--set", "--dump-config", "--batch_size", "--use_gpu"}},
      {"infer", {"--conf", "--config", "--set", "--dump-config", "--batch_size", "--use_gpu"}},
      {"export", {"--conf", "--config", "--set", "--dump-config", "--use_gpu"}},
      {"import-paddle", {"--conf", "--config", "--set", "--dump-config", "--use_gpu"}},
  };
  for (const auto& [verb, names] : spellings) {
    std::size_t count = 0;
    for (const FlagSpec* f : flags_for(verb)) count += f->names.size();
    EXPECT_EQ(count, names.size()) << verb;
    for (const auto& name : names) EXPECT_NE(find_flag(verb, name), nullptr) << verb << " " << name;
  }
  EXPECT_EQ(find_flag("eval", "--learning_rate"), nullptr);
  EXPECT_EQ(find_flag("export", "--batch_size"), nullptr);
  EXPECT_EQ(find_flag("tokenize", "--conf"), nullptr);
  EXPECT_EQ(find_flag("train", "--config"), find_flag("train", "--conf"));
}

TEST(Flags, WhatEachFlagSets) {
  EXPECT_EQ(find_flag("train", "--batch_size")->keys, (std::vector<std::string>{"TRAIN.batch_size", "VALID.batch_size"}));
  EXPECT_EQ(find_flag("eval", "--batch_size")->keys, (std::vector<std::string>{"VALID.batch_size"}));
  EXPECT_EQ(find_flag("infer", "--batch_size")->keys, (std::vector<std::string>{"INFER.batch_size"}));
  EXPECT_EQ(flag_sets_text(*find_flag("train", "--batch_size")), "sets TRAIN.batch_size and VALID.batch_size");
  EXPECT_EQ(flag_sets_text(*find_flag("train", "--epoch_num")), "when > 0 sets TRAIN.epoch");
  EXPECT_EQ(flag_sets_text(*find_flag("train", "--save_dir")), "");
  EXPECT_TRUE(flag_key_value(*find_flag("train", "--learning_rate"), 0, 0.25, false) == PyValue::of_float(0.25));
  EXPECT_TRUE(flag_key_value(*find_flag("train", "--epoch_num"), 7, 0, false) == PyValue::of_int(7));
  EXPECT_TRUE(flag_key_value(*find_flag("eval", "--use_gpu"), 0, 0, true) == PyValue::of_bool(true));
  EXPECT_EQ(find_flag("train", "--max-steps")->member, "max_steps");
  EXPECT_EQ(find_flag("infer", "--conf")->member, "path");
}

TEST(Flags, BoolWords) {
  for (const auto& word : flag_bool_words()) {
    bool value = false;
    EXPECT_TRUE(parse_flag_bool(word, value)) << word;
  }
  bool value = false;
  EXPECT_TRUE(parse_flag_bool("YES", value));
  EXPECT_TRUE(value);
  EXPECT_TRUE(parse_flag_bool("False", value));
  EXPECT_FALSE(value);
  EXPECT_FALSE(parse_flag_bool("maybe", value));
}

TEST(Flags, DefaultsComeFromTheMembersTheyBind) {
  const FlagDefaults source = flag_defaults(ConfigSource{});
  EXPECT_EQ(source.at("path"), "conf/conf.txt");
  EXPECT_EQ(source.at("overrides"), "");
  const FlagDefaults train = flag_defaults(TrainOptions{});
  EXPECT_EQ(train.at("save_dir"), "checkpoints");
  EXPECT_EQ(train.at("pretrain"), "");
  EXPECT_EQ(train.at("valid_interval"), "1");
  EXPECT_EQ(train.at("log_interval"), "10");
  EXPECT_EQ(train.at("max_steps"), "0");
  EXPECT_EQ(train.at("nproc"), "0");
  EXPECT_EQ(train.at("dist_timeout"), "1800");
}

TEST(Flags, ReferenceTableHasARowPerEntry) {
  const std::string md = flag_reference_markdown(run_defaults());
  EXPECT_EQ(md.rfind("| Flag | Verbs | Default | Sets | Meaning |\n|---|---|---|---|---|\n", 0), 0u);
  EXPECT_EQ(static_cast<std::size_t>(std::count(md.begin(), md.end(), '\n')), flag_table().size() + 2);
  EXPECT_NE(md.find("| `--conf FILE`, `--config FILE` | train, eval, infer, export, import-paddle, serve | `conf/conf.txt` |  | "),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| `--batch_size N` | train | the key's value | `TRAIN.batch_size`, `VALID.batch_size` | "),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| `--epoch_num N` | train | the key's value | `TRAIN.epoch` when > 0 | "), std::string::npos) << md;
  EXPECT_NE(md.find("| `--save_dir DIR` | train | `checkpoints` |  | "), std::string::npos) << md;
  EXPECT_NE(md.find("| `--pretrain PATH` | train |  |  | "), std::string::npos) << md;
  EXPECT_THROW(flag_reference_markdown({}), std::logic_error);  // train's run options need their defaults
}

TEST(Flags, DocsContainTheGeneratedTable) {
  const std::string docs = read_file(MVTAG_SOURCE_DIR "/docs/CONFIG.md");
  const std::string table = flag_reference_markdown(run_defaults());
  EXPECT_NE(docs.find(table), std::string::npos)
      << "docs/CONFIG.md is out of date; replace its flag table with:\n" << table;
}
