#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/text/vocab.h"
#include "test_util.h"

using namespace mvtag;
using mvtag::test::LogCapture;
namespace fs = std::filesystem;

namespace {

const std::string kFixtureVocab = std::string(MVTAG_FIXTURES) + "/tokenizer/vocab.txt";
const std::string kSpecials = "[PAD]\t0\n[CLS]\t1\n[SEP]\t2\n[UNK]\t3\n";

// The Error thrown by parsing `text` as "v.txt" (fails the test if nothing is thrown).
Error parse_error(const std::string& text) {
  SCOPED_TRACE(text);
  return mvtag::test::thrown_error([&] { Vocab::parse(text, "v.txt"); });
}

}  // namespace

TEST(Vocab, LoadsTheFixtureWithItsSpecialIds) {
  const Vocab v = Vocab::load(kFixtureVocab);
  EXPECT_EQ(v.size(), 615u);
  EXPECT_EQ(v.pad_id(), 0);
  EXPECT_EQ(v.cls_id(), 1);
  EXPECT_EQ(v.sep_id(), 2);
  EXPECT_EQ(v.mask_id(), 3);
  EXPECT_EQ(v.unk_id(), 614);
  EXPECT_EQ(v.max_id(), 614);
  EXPECT_EQ(v.find("的"), 41);
  EXPECT_EQ(v.find("##co"), 571);
  EXPECT_EQ(v.token(539), "rain");
  EXPECT_EQ(v.find("not-there"), Vocab::kMissing);
  EXPECT_FALSE(v.contains("q"));
  EXPECT_EQ(v.source(), kFixtureVocab);
  EXPECT_EQ(v.duplicate_tokens(), 0u);
  EXPECT_EQ(v.duplicate_ids(), 0u);
}

TEST(Vocab, IdIsTheLineNumberWhenAbsent) {
  const Vocab v = Vocab::parse("[PAD]\n[CLS]\n[SEP]\n[UNK]\nfoo\nbar\t10\nbaz\n", "v.txt");
  EXPECT_EQ(v.find("foo"), 4);
  EXPECT_EQ(v.find("bar"), 10);
  EXPECT_EQ(v.find("baz"), 6);
  EXPECT_EQ(v.mask_id(), Vocab::kMissing);
  EXPECT_EQ(v.max_id(), 10);
}

TEST(Vocab, BlankLinesCountAsLinesButAddNoToken) {
  const Vocab v = Vocab::parse("[PAD]\n\n[CLS]\n   \n[SEP]\n[UNK]\n", "v.txt");
  EXPECT_EQ(v.cls_id(), 2);
  EXPECT_EQ(v.sep_id(), 4);
  EXPECT_EQ(v.size(), 4u);
}

TEST(Vocab, StripsLinesAndTokensLikePython) {
  // Line then token stripped, including Unicode whitespace (U+3000, NBSP); the id field too.
  const Vocab v = Vocab::parse(kSpecials + "  foo \t 7 \n\u3000bar\u00a0\t+8\n", "v.txt");
  EXPECT_EQ(v.find("foo"), 7);
  EXPECT_EQ(v.find("bar"), 8);
  // The line is stripped before splitting, so a leading tab vanishes: "\t9" is the token "9".
  const Vocab w = Vocab::parse(kSpecials + "\t9\n", "v.txt");
  EXPECT_EQ(w.find("9"), 4);
}

TEST(Vocab, AcceptsEveryLineEnding) {
  const Vocab v = Vocab::parse("[PAD]\r\n[CLS]\r[SEP]\n[UNK]", "v.txt");
  EXPECT_EQ(v.pad_id(), 0);
  EXPECT_EQ(v.cls_id(), 1);
  EXPECT_EQ(v.sep_id(), 2);
  EXPECT_EQ(v.unk_id(), 3);
  EXPECT_EQ(v.size(), 4u);
}

TEST(Vocab, IgnoresAByteOrderMarkWithAWarning) {
  LogCapture log(spdlog::level::trace);
  const Vocab v = Vocab::parse("\xEF\xBB\xBF" + kSpecials, "v.txt");
  EXPECT_EQ(v.pad_id(), 0);
  EXPECT_NE(log.text().find("byte order mark"), std::string::npos) << log.text();
}

TEST(Vocab, ALineWithMoreThanTwoFieldsStopsReading) {
  LogCapture log(spdlog::level::trace);
  const Vocab v = Vocab::parse(kSpecials + "x\t4\ny\t5\tjunk\nz\t6\n", "v.txt");
  EXPECT_TRUE(v.contains("x"));
  EXPECT_FALSE(v.contains("y"));
  EXPECT_FALSE(v.contains("z"));
  EXPECT_NE(log.text().find("v.txt:6: line has 3 tab-separated fields"), std::string::npos) << log.text();
  EXPECT_NE(log.text().find("stopped reading"), std::string::npos);
}

TEST(Vocab, StoppingBeforeASpecialTokenLosesIt) {
  const Error e = parse_error("[PAD]\t0\na\tb\tc\n[CLS]\t1\n[SEP]\t2\n[UNK]\t3\n");
  EXPECT_STREQ(e.what(), "v.txt: vocabulary has no '[CLS]' token");
}

TEST(Vocab, DuplicatesLaterLineWinsCountedAndWarned) {
  LogCapture log(spdlog::level::trace);
  const Vocab v = Vocab::parse(kSpecials + "foo\t4\nfoo\t5\nbar\t5\n", "v.txt");
  EXPECT_EQ(v.find("foo"), 5);
  EXPECT_EQ(v.find("bar"), 5);
  EXPECT_EQ(v.duplicate_tokens(), 1u);
  EXPECT_EQ(v.duplicate_ids(), 1u);
  EXPECT_EQ(v.token(5), "bar");  // like {v: k for k, v in vocab.items()}
  EXPECT_FALSE(v.has_id(4));     // foo moved to 5
  EXPECT_EQ(v.size(), 6u);
  EXPECT_NE(log.text().find("v.txt: 1 duplicate token(s), the first at line 6"), std::string::npos) << log.text();
  EXPECT_NE(log.text().find("share an id"), std::string::npos) << log.text();
}

TEST(Vocab, RejectsIdsThatAreNotNonNegativeIntegers) {
  EXPECT_STREQ(parse_error(kSpecials + "x\t-1\n").what(), "v.txt:5: token id -1 is negative; ids must be >= 0");
  EXPECT_STREQ(parse_error(kSpecials + "x\tabc\n").what(), "v.txt:5: token id 'abc' is not an integer");
  EXPECT_STREQ(parse_error(kSpecials + "x\t1.5\n").what(), "v.txt:5: token id '1.5' is not an integer");
  EXPECT_STREQ(parse_error("[PAD]\t\xEF\xBC\x90\n").what(), "v.txt:1: token id '\xEF\xBC\x90' is not an integer");
  EXPECT_STREQ(parse_error(kSpecials + "x\t99999999999\n").what(),
               "v.txt:5: token id 99999999999 is above the limit of 10000000 (kMaxVocabId)");
  EXPECT_EQ(parse_error(kSpecials + "x\t-1\n").kind(), ErrorKind::Data);
}

TEST(Vocab, RejectsInvalidUtf8NamingTheLine) {
  EXPECT_STREQ(parse_error(kSpecials + "ok\t4\nba\xFF" "d\t5\n").what(), "v.txt:6: invalid UTF-8 in the vocabulary");
}

TEST(Vocab, EachMissingSpecialTokenIsNamed) {
  const char* names[] = {"[PAD]", "[CLS]", "[SEP]", "[UNK]"};
  for (const char* missing : names) {
    std::string text;
    for (const char* n : names) {
      if (std::string(n) != missing) text += std::string(n) + "\n";
    }
    EXPECT_STREQ(parse_error(text).what(), (std::string("v.txt: vocabulary has no '") + missing + "' token").c_str());
  }
}

TEST(Vocab, MissingFileIsAnIoErrorNamingIt) {
  const Error e = mvtag::test::thrown_error([] { Vocab::load("/nonexistent/dir/vocab.txt"); }, ErrorKind::Io);
  EXPECT_EQ(e.where().file, "/nonexistent/dir/vocab.txt");
  EXPECT_EQ(e.exit_code(), 1);
}

TEST(Vocab, UnknownIdNamesTheVocab) {
  const Vocab v = Vocab::parse(kSpecials, "v.txt");
  EXPECT_THROW(
      {
        try {
          v.token(42);
        } catch (const Error& e) {
          EXPECT_STREQ(e.what(), "v.txt: no token has id 42");
          throw;
        }
      },
      Error);
}

TEST(Vocab, FromTokensNumbersThemInOrder) {
  const Vocab v = Vocab::from_tokens({"[PAD]", "[CLS]", "[SEP]", "[MASK]", "的", "[UNK]"});
  EXPECT_EQ(v.find("的"), 4);
  EXPECT_EQ(v.unk_id(), 5);
  EXPECT_EQ(v.mask_id(), 3);
  EXPECT_THROW(Vocab::from_tokens({"[PAD]", "[CLS]", "[SEP]", "[UNK]", " x"}), Error);
  EXPECT_THROW(Vocab::from_tokens({"[PAD]", "[CLS]", "[SEP]", "[UNK]", "a\tb"}), Error);
  EXPECT_THROW(Vocab::from_tokens({"[PAD]", "[CLS]", "[SEP]", "[UNK]", ""}), Error);
  EXPECT_THROW(Vocab::from_tokens({"[PAD]", "[CLS]", "[SEP]"}), Error);
}

class VocabFiles : public ::testing::Test {
 protected:
  mvtag::test::TempDir dir_{"vocab_test"};
};

TEST_F(VocabFiles, WriteThenLoadGivesTheSameVocab) {
  const Vocab original = Vocab::load(kFixtureVocab);
  const std::string path = dir_.file("out/vocab.txt");
  write_vocab(original, path);
  const Vocab again = Vocab::load(path);
  EXPECT_EQ(again.entries(), original.entries());
  EXPECT_EQ(again.unk_id(), original.unk_id());
  EXPECT_EQ(read_file(path).substr(0, 24), "[PAD]\t0\n[CLS]\t1\n[SEP]\t2\n");
}

TEST_F(VocabFiles, WritesInIdOrderAndKeepsSharedIdAnswers) {
  const Vocab v = Vocab::parse("[UNK]\t9\n[PAD]\t0\n[CLS]\n[SEP]\na\t7\nb\t7\n", "v.txt");
  const std::string path = dir_.file("vocab.txt");
  write_vocab(v, path);
  EXPECT_EQ(read_file(path), "[PAD]\t0\n[CLS]\t2\n[SEP]\t3\na\t7\nb\t7\n[UNK]\t9\n");
  const Vocab again = Vocab::load(path);
  EXPECT_EQ(again.token(7), "b");
  EXPECT_EQ(again.entries(), v.entries());
  EXPECT_FALSE(fs::exists(path + ".tmp." + std::to_string(::getpid())));
}
