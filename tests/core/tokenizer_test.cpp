#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "mvtag/core/base/error.h"
#include "mvtag/core/text/tokenizer.h"
#include "test_util.h"

using namespace mvtag;
using Strings = std::vector<std::string>;
using Ids = std::vector<std::int64_t>;

namespace {

const std::string kFixtureDir = std::string(MVTAG_FIXTURES) + "/tokenizer";

const Tokenizer& fixture_tokenizer() {
  static const Tokenizer tokenizer = Tokenizer::load(kFixtureDir + "/vocab.txt");
  return tokenizer;
}

std::vector<nlohmann::json> golden_cases() {
  std::ifstream in(kFixtureDir + "/cases.jsonl");
  std::vector<nlohmann::json> cases;
  for (std::string line; std::getline(in, line);) cases.push_back(nlohmann::json::parse(line));
  return cases;
}

// A vocab with just what the hand-written cases need.
Tokenizer small_tokenizer() {
  return Tokenizer(Vocab::from_tokens({"[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]", "un", "##aff", "##able", "a",
                                       "##a", "好", "看", "ab", "##cd", "rain", "##co"}));
}

}  // namespace

// ---- Goldens from tools/make_tokenizer_goldens.py -----------------------------------------------

TEST(TokenizerGolden, EveryCaseMatchesTheReference) {
  const auto cases = golden_cases();
  ASSERT_EQ(cases.size(), 33u);
  const Tokenizer& tok = fixture_tokenizer();
  for (const auto& c : cases) {
    const std::string title = c.at("title");
    const auto max_len = c.at("max_len").get<std::size_t>();
    SCOPED_TRACE("title: " + title + ", max_len " + std::to_string(max_len));
    EXPECT_EQ(basic_tokenize(title), c.at("basic").get<Strings>());

    Strings tokens = tok.tokenize(title);
    if (tokens.size() > max_len - 2) tokens.resize(max_len - 2);
    tokens.insert(tokens.begin(), "[CLS]");
    tokens.push_back("[SEP]");
    EXPECT_EQ(tokens, c.at("tokens").get<Strings>());

    const TextRecord record = tok.encode(title, max_len);
    EXPECT_EQ(record.token_ids, c.at("ids").get<Ids>());
    EXPECT_EQ(record.length(), c.at("length").get<std::size_t>());
  }
}

TEST(TokenizerGolden, CoversTruncationAndUnknowns) {
  // Guards the fixture itself: the cases must exercise what the tests claim to cover.
  bool truncated_50 = false, truncated_8 = false, has_unk = false, empty = false;
  for (const auto& c : golden_cases()) {
    const auto len = c.at("length").get<std::size_t>();
    if (c.at("max_len") == 50 && len == 50) truncated_50 = true;
    if (c.at("max_len") == 8 && len == 8) truncated_8 = true;
    if (c.at("ids").get<Ids>().size() > 2 && c.at("tokens")[1] == "[UNK]") has_unk = true;
    if (len == 2) empty = true;
  }
  EXPECT_TRUE(truncated_50 && truncated_8 && has_unk && empty);
}

// ---- Hand-written cases ---------------------------------------------------------------------------

TEST(Tokenizer, ReadmeTitle) {
  EXPECT_EQ(fixture_tokenizer().tokenize("叮叮来自肖宇梁肖宇梁rainco的特别起床铃声"),
            (Strings{"叮", "叮", "来", "自", "肖", "宇", "梁", "肖", "宇", "梁", "rain", "##co", "的", "特", "别",
                     "起", "床", "铃", "声"}));
}

TEST(Tokenizer, BasicStepsByHand) {
  EXPECT_EQ(basic_tokenize("Ünïcode,Wörld!"), (Strings{"unicode", ",", "world", "!"}));
  EXPECT_EQ(basic_tokenize("好看abc好"), (Strings{"好", "看", "abc", "好"}));
  EXPECT_EQ(basic_tokenize("a\u200bb c\td\u3000e"), (Strings{"ab", "c", "d", "e"}));
  EXPECT_EQ(basic_tokenize("x～y￥z"), (Strings{"x～y￥z"}));  // symbols are not punctuation
  EXPECT_EQ(basic_tokenize("[CLS]"), (Strings{"[", "cls", "]"}));
  EXPECT_EQ(basic_tokenize("が"), (Strings{"か"}));
  EXPECT_EQ(basic_tokenize("ΟΔΟΣ"), (Strings{"οδος"}));
  EXPECT_EQ(basic_tokenize(""), Strings{});
  EXPECT_EQ(basic_tokenize(" \t\r\n "), Strings{});
}

TEST(Tokenizer, WordPieceGreedyLongestMatch) {
  const Tokenizer tok = small_tokenizer();
  EXPECT_EQ(tok.wordpiece("unaffable"), (Strings{"un", "##aff", "##able"}));
  EXPECT_EQ(tok.wordpiece("abcd"), (Strings{"ab", "##cd"}));
  EXPECT_EQ(tok.wordpiece("unaffablex"), Strings{"[UNK]"});  // no match at 'x': the whole word
  EXPECT_EQ(tok.wordpiece("xa"), Strings{"[UNK]"});
  EXPECT_EQ(tok.wordpiece(""), Strings{});
}

TEST(Tokenizer, WordsOverOneHundredCharactersAreUnknown) {
  const Tokenizer tok = small_tokenizer();
  const Strings hundred = tok.wordpiece(std::string(100, 'a'));
  ASSERT_EQ(hundred.size(), 100u);
  EXPECT_EQ(hundred[0], "a");
  EXPECT_EQ(hundred[99], "##a");
  EXPECT_EQ(tok.wordpiece(std::string(101, 'a')), Strings{"[UNK]"});
  // Counted in characters of the basic token, i.e. after lower-casing and accent stripping:
  // "À" is 2 bytes, and "a" + U+0301 is 2 code points, both become one "a".
  std::string graves, combining;
  for (int i = 0; i < 100; ++i) graves += "\xC3\x80", combining += "a\xCC\x81";
  EXPECT_EQ(tok.tokenize(graves).size(), 100u);
  EXPECT_EQ(tok.tokenize(combining).size(), 100u);
  EXPECT_EQ(tok.tokenize(graves + "\xC3\x80"), Strings{"[UNK]"});
}

TEST(Tokenizer, EncodeAddsSpecialsAndTruncates) {
  const Tokenizer tok = small_tokenizer();
  EXPECT_EQ(tok.encode("好看").token_ids, (Ids{1, 10, 11, 2}));
  EXPECT_EQ(tok.encode("").token_ids, (Ids{1, 2}));
  EXPECT_EQ(tok.encode("好看好看", 4).token_ids, (Ids{1, 10, 11, 2}));
  EXPECT_EQ(tok.encode("好看", 2).token_ids, (Ids{1, 2}));
  EXPECT_EQ(tok.encode("好 zz 看").token_ids, (Ids{1, 10, 4, 11, 2}));
  EXPECT_EQ(tok.encode(std::string(200, 'a'), 50).length(), 3u);  // one [UNK]
  mvtag::test::expect_message_contains(mvtag::test::thrown_error([&] { tok.encode("好", 1); }, ErrorKind::Usage),
                                       {"max_len must be at least 2"});
}

TEST(Tokenizer, TokenizeIdsAppends) {
  const Tokenizer tok = small_tokenizer();
  Ids ids{99};
  tok.tokenize_ids("rainco 好", ids);
  EXPECT_EQ(ids, (Ids{99, 14, 15, 10}));
}

TEST(Tokenizer, SameResultsFromSeveralThreads) {
  const Tokenizer& tok = fixture_tokenizer();
  const auto cases = golden_cases();
  std::vector<Ids> expected;
  for (const auto& c : cases) expected.push_back(tok.encode(c.at("title").get<std::string>()).token_ids);
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        for (std::size_t i = 0; i < cases.size(); ++i) {
          if (tok.encode(cases[i].at("title").get<std::string>()).token_ids != expected[i]) ++mismatches[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

// ---- Invalid UTF-8 ------------------------------------------------------------------------------

TEST(Utf8, InvalidBytesInTitlesAreDroppedWithoutThrowing) {
  const Tokenizer tok = small_tokenizer();
  // Replaced by U+FFFD, which cleaning drops: neighbours join, as in the original.
  EXPECT_EQ(basic_tokenize("ab\xFF" "cd"), Strings{"abcd"});
  EXPECT_EQ(tok.tokenize("ab\xFF" "cd"), (Strings{"ab", "##cd"}));
  EXPECT_EQ(basic_tokenize("\xE5\xA5\xBD\xE7\x9C" "a"), (Strings{"好", "a"}));  // 好 + truncated 看
  EXPECT_EQ(basic_tokenize("a\xC0\xAF" "b"), Strings{"ab"});
  EXPECT_EQ(basic_tokenize("\xED\xA0\x80"), Strings{});
  EXPECT_EQ(basic_tokenize("x\x80"), Strings{"x"});
  EXPECT_EQ(basic_tokenize("\xE0\x80\x80 y \xF8\x88\x80\x80\x80"), Strings{"y"});
  EXPECT_EQ(tok.encode("\xFF\xFE\xC0\xC1\xF5").token_ids, (Ids{1, 2}));
}

TEST(Utf8, InvalidTitleIsLoggedAtDebugLevel) {
  mvtag::test::LogCapture log(spdlog::level::debug);
  basic_tokenize("bad\xFF");
  EXPECT_NE(log.text().find("1 invalid UTF-8 sequence(s)"), std::string::npos) << log.text();
  EXPECT_NE(log.text().find("bad\xEF\xBF\xBD"), std::string::npos);
}

// ---- Text records ---------------------------------------------------------------------------------

TEST(TextRecord, ExpandsToTheOriginalFiveRowLayout) {
  const TextRecord r{{1, 41, 2}};
  EXPECT_EQ(expand_text_record(r, 5, 0), (Ids{1, 41, 2, 0, 0,     // src ids
                                              0, 0, 0, 0, 0,      // sentence ids
                                              0, 1, 2, 0, 0,      // positions
                                              0, 0, 0, 0, 0,      // task ids
                                              1, 1, 1, 0, 0}));   // input mask
  // The original pads src, sentence and position ids with the [PAD] id.
  EXPECT_EQ(expand_text_record(r, 4, 7), (Ids{1, 41, 2, 7, 0, 0, 0, 7, 0, 1, 2, 7, 0, 0, 0, 0, 1, 1, 1, 0}));
  EXPECT_EQ(expand_text_record(r, 3, 0).size(), 15u);
  EXPECT_THROW(expand_text_record(r, 2, 0), Error);
}

TEST(TextRecord, GoldenRecordsExpandConsistently) {
  for (const auto& c : golden_cases()) {
    const Ids ids = c.at("ids").get<Ids>();
    const std::size_t max_len = c.at("max_len");
    const Ids t = expand_text_record(TextRecord{ids}, max_len, 0);
    ASSERT_EQ(t.size(), 5 * max_len);
    for (std::size_t i = 0; i < max_len; ++i) {
      const bool real = i < ids.size();
      EXPECT_EQ(t[i], real ? ids[i] : 0);
      EXPECT_EQ(t[2 * max_len + i], real ? static_cast<std::int64_t>(i) : 0);
      EXPECT_EQ(t[4 * max_len + i], real ? 1 : 0);
    }
  }
}
