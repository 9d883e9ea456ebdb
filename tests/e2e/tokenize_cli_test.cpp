// `mvtag tokenize` end to end: the binary, the fixture vocab and the Python-made goldens.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_runner.h"

using mvtag::test::CliResult;
using mvtag::test::run_mvtag;
using mvtag::test::TempDir;

namespace {

const std::string kVocab = std::string(MVTAG_FIXTURES) + "/tokenizer/vocab.txt";

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> lines;
  std::size_t start = 0;
  for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(nlohmann::json::parse(text.substr(start, nl - start)));
  }
  EXPECT_EQ(start, text.size()) << "output does not end with a newline";
  return lines;
}

// Golden (tokens, ids) by (title, max_len).
std::map<std::pair<std::string, std::size_t>, nlohmann::json> goldens() {
  std::map<std::pair<std::string, std::size_t>, nlohmann::json> out;
  std::ifstream in(std::string(MVTAG_FIXTURES) + "/tokenizer/cases.jsonl");
  for (std::string line; std::getline(in, line);) {
    const auto c = nlohmann::json::parse(line);
    out[{c.at("title").get<std::string>(), c.at("max_len").get<std::size_t>()}] = c;
  }
  return out;
}

class TokenizeCli : public ::testing::Test {
 protected:
  TempDir dir_{"tokenize_cli"};
};

const char* const kReadme = "叮叮来自肖宇梁肖宇梁rainco的特别起床铃声";

}  // namespace

TEST_F(TokenizeCli, MatchesTheGoldensLineByLine) {
  const std::vector<std::string> titles = {kReadme, "Café ÀÉÎ Ångström", "", "qqq abq bqa 好qq",
                                           "[CLS] 标题 [SEP] [UNK] [MASK]"};
  std::string input;
  for (const auto& t : titles) input += t + "\n";
  const CliResult r = run_mvtag("tokenize --vocab '" + kVocab + "' --input '" + dir_.write("titles.txt", input) + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), titles.size());
  const auto golden = goldens();
  for (std::size_t i = 0; i < titles.size(); ++i) {
    const auto& g = golden.at({titles[i], 50});
    EXPECT_EQ(lines[i].at("title"), titles[i]);
    EXPECT_EQ(lines[i].at("tokens"), g.at("tokens"));
    EXPECT_EQ(lines[i].at("ids"), g.at("ids"));
    EXPECT_EQ(lines[i].at("length"), g.at("length"));
  }
  // Keys in the documented order.
  EXPECT_EQ(r.out.rfind("{\"title\":", 0), 0u);
  EXPECT_NE(r.out.find("\"tokens\":[\"[CLS]\",\"叮\""), std::string::npos);
}

TEST_F(TokenizeCli, ReadsStandardInputAndHonoursMaxLen) {
  const std::string file = dir_.write("titles.txt", std::string(kReadme) + "\r\nhello world\n");
  for (const std::string& source : {"< '" + file + "'", "- < '" + file + "'", "--input - < '" + file + "'"}) {
    const CliResult r = run_mvtag("tokenize --vocab '" + kVocab + "' --max-len 8 " + source);
    ASSERT_EQ(r.exit_code, 0) << source << ": " << r.err;
    const auto lines = json_lines(r.out);
    ASSERT_EQ(lines.size(), 2u);
    const auto golden = goldens();
    EXPECT_EQ(lines[0].at("title"), kReadme);  // the CR of a CRLF line is not part of the title
    EXPECT_EQ(lines[0].at("ids"), golden.at({kReadme, 8}).at("ids"));
    EXPECT_EQ(lines[0].at("length"), 8);
    EXPECT_EQ(lines[1].at("ids"), golden.at({"hello world", 8}).at("ids"));
  }
}

TEST_F(TokenizeCli, NoSpecialLeavesOutClsAndSep) {
  const CliResult r = run_mvtag("tokenize --vocab '" + kVocab + "' --max-len 4 --no-special '" +
                                dir_.write("t.txt", "hello world abc\n") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].at("tokens"), nlohmann::json({"hello", "world"}));
  EXPECT_EQ(lines[0].at("length"), 2);
}

TEST_F(TokenizeCli, InvalidUtf8TitlesGiveValidJson) {
  const std::string titles = dir_.write("t.txt", "ab\xFF\xC0" "cd \xE5\xA5\xBD\xE7\x9C\n");
  const CliResult r = run_mvtag("tokenize --vocab '" + kVocab + "' '" + titles + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = json_lines(r.out);  // parse() throws on invalid UTF-8
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].at("title"), "ab\xEF\xBF\xBD\xEF\xBF\xBD" "cd \xE5\xA5\xBD\xEF\xBF\xBD");
  EXPECT_EQ(lines[0].at("tokens"), nlohmann::json({"[CLS]", "abc", "##d", "好", "[SEP]"}));
}

TEST_F(TokenizeCli, MissingVocabIsARunTimeErrorNamingTheFile) {
  const std::string missing = dir_.file("no-such-vocab.txt");
  const CliResult r = run_mvtag("tokenize --vocab '" + missing + "' '" + dir_.write("t.txt", "x\n") + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(missing + ": cannot open for reading"), std::string::npos) << r.err;
}

TEST_F(TokenizeCli, MissingInputIsARunTimeErrorNamingTheFile) {
  const std::string missing = dir_.file("no-such-titles.txt");
  const CliResult r = run_mvtag("tokenize --vocab '" + kVocab + "' --input '" + missing + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(missing + ": cannot open for reading"), std::string::npos) << r.err;
}

TEST_F(TokenizeCli, BadVocabNamesTheTokenOrLine) {
  const CliResult no_cls =
      run_mvtag("tokenize --vocab '" + dir_.write("v1.txt", "[PAD]\n[SEP]\n[UNK]\n") + "' < /dev/null");
  EXPECT_EQ(no_cls.exit_code, 1);
  EXPECT_NE(no_cls.err.find("v1.txt: vocabulary has no '[CLS]' token"), std::string::npos) << no_cls.err;
  const CliResult bad_id =
      run_mvtag("tokenize --vocab '" + dir_.write("v2.txt", "[PAD]\t0\n[CLS]\tone\n") + "' < /dev/null");
  EXPECT_EQ(bad_id.exit_code, 1);
  EXPECT_NE(bad_id.err.find("v2.txt:2: token id 'one' is not an integer"), std::string::npos) << bad_id.err;
}

TEST_F(TokenizeCli, UsageErrorsExitWithTwo) {
  EXPECT_EQ(run_mvtag("tokenize --vocab '" + kVocab + "' --max-len 1 < /dev/null").exit_code, 2);
  EXPECT_EQ(run_mvtag("tokenize < /dev/null").exit_code, 2);  // --vocab is required
}
