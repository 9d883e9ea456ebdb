// `mvtag tokenize` end to end: the binary, the fixture vocab and the Python-made goldens.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace {

const std::string kVocab = std::string(MVTAG_FIXTURES) + "/tokenizer/vocab.txt";

struct Result {
  int exit_code = -1;
  std::string output;
};

Result run(const std::string& args) {
  Result r;
  const std::string cmd = std::string("'") + MVTAG_BINARY + "' " + args;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) r.output.append(buf, n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

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
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mvtag_tokenize_cli_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& content) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  fs::path dir_;
};

const char* const kReadme = "叮叮来自肖宇梁肖宇梁rainco的特别起床铃声";

}  // namespace

TEST_F(TokenizeCli, MatchesTheGoldensLineByLine) {
  const std::vector<std::string> titles = {kReadme, "Café ÀÉÎ Ångström", "", "qqq abq bqa 好qq",
                                           "[CLS] 标题 [SEP] [UNK] [MASK]"};
  std::string input;
  for (const auto& t : titles) input += t + "\n";
  const Result r = run("tokenize --vocab '" + kVocab + "' --input '" + write("titles.txt", input) + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto lines = json_lines(r.output);
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
  EXPECT_EQ(r.output.rfind("{\"title\":", 0), 0u);
  EXPECT_NE(r.output.find("\"tokens\":[\"[CLS]\",\"叮\""), std::string::npos);
}

TEST_F(TokenizeCli, ReadsStandardInputAndHonoursMaxLen) {
  const std::string file = write("titles.txt", std::string(kReadme) + "\r\nhello world\n");
  for (const std::string& source : {"< '" + file + "'", "- < '" + file + "'", "--input - < '" + file + "'"}) {
    const Result r = run("tokenize --vocab '" + kVocab + "' --max-len 8 " + source);
    ASSERT_EQ(r.exit_code, 0) << source << ": " << r.output;
    const auto lines = json_lines(r.output);
    ASSERT_EQ(lines.size(), 2u);
    const auto golden = goldens();
    EXPECT_EQ(lines[0].at("title"), kReadme);  // the CR of a CRLF line is not part of the title
    EXPECT_EQ(lines[0].at("ids"), golden.at({kReadme, 8}).at("ids"));
    EXPECT_EQ(lines[0].at("length"), 8);
    EXPECT_EQ(lines[1].at("ids"), golden.at({"hello world", 8}).at("ids"));
  }
}

TEST_F(TokenizeCli, NoSpecialLeavesOutClsAndSep) {
  const Result r = run("tokenize --vocab '" + kVocab + "' --max-len 4 --no-special '" +
                       write("t.txt", "hello world abc\n") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto lines = json_lines(r.output);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].at("tokens"), nlohmann::json({"hello", "world"}));
  EXPECT_EQ(lines[0].at("length"), 2);
}

TEST_F(TokenizeCli, InvalidUtf8TitlesGiveValidJson) {
  const Result r = run("tokenize --vocab '" + kVocab + "' '" + write("t.txt", "ab\xFF\xC0" "cd \xE5\xA5\xBD\xE7\x9C\n") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto lines = json_lines(r.output);  // parse() throws on invalid UTF-8
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].at("title"), "ab\xEF\xBF\xBD\xEF\xBF\xBD" "cd \xE5\xA5\xBD\xEF\xBF\xBD");
  EXPECT_EQ(lines[0].at("tokens"), nlohmann::json({"[CLS]", "abc", "##d", "好", "[SEP]"}));
}

TEST_F(TokenizeCli, MissingVocabIsARunTimeErrorNamingTheFile) {
  const std::string missing = (dir_ / "no-such-vocab.txt").string();
  const Result r = run("tokenize --vocab '" + missing + "' '" + write("t.txt", "x\n") + "' 2>&1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find(missing + ": cannot open for reading"), std::string::npos) << r.output;
}

TEST_F(TokenizeCli, MissingInputIsARunTimeErrorNamingTheFile) {
  const std::string missing = (dir_ / "no-such-titles.txt").string();
  const Result r = run("tokenize --vocab '" + kVocab + "' --input '" + missing + "' 2>&1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find(missing + ": cannot open for reading"), std::string::npos) << r.output;
}

TEST_F(TokenizeCli, BadVocabNamesTheTokenOrLine) {
  const Result no_cls = run("tokenize --vocab '" + write("v1.txt", "[PAD]\n[SEP]\n[UNK]\n") + "' < /dev/null 2>&1");
  EXPECT_EQ(no_cls.exit_code, 1);
  EXPECT_NE(no_cls.output.find("v1.txt: vocabulary has no '[CLS]' token"), std::string::npos) << no_cls.output;
  const Result bad_id = run("tokenize --vocab '" + write("v2.txt", "[PAD]\t0\n[CLS]\tone\n") + "' < /dev/null 2>&1");
  EXPECT_EQ(bad_id.exit_code, 1);
  EXPECT_NE(bad_id.output.find("v2.txt:2: token id 'one' is not an integer"), std::string::npos) << bad_id.output;
}

TEST_F(TokenizeCli, UsageErrorsExitWithTwo) {
  EXPECT_EQ(run("tokenize --vocab '" + kVocab + "' --max-len 1 < /dev/null 2>&1").exit_code, 2);
  EXPECT_EQ(run("tokenize < /dev/null 2>&1").exit_code, 2);  // --vocab is required
}
