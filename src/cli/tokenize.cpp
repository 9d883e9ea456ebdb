// mvtag tokenize: shows what the model sees of each title, one JSON line per title.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "commands.h"
#include "mvtag/core/base/error.h"
#include "mvtag/core/text/tokenizer.h"

namespace mvtag::cli {

namespace {

struct TokenizeOptions {
  std::string vocab;
  std::size_t max_len = kDefaultMaxLen;
  std::string input = "-";
  bool no_special = false;
};

nlohmann::ordered_json tokenize_line(const Tokenizer& tokenizer, const std::string& title,
                                     const TokenizeOptions& opt) {
  std::vector<std::string> pieces = tokenizer.tokenize(title);
  if (pieces.size() > opt.max_len - 2) pieces.resize(opt.max_len - 2);
  std::vector<std::string> tokens;
  tokens.reserve(pieces.size() + 2);
  if (!opt.no_special) tokens.emplace_back("[CLS]");
  tokens.insert(tokens.end(), pieces.begin(), pieces.end());
  if (!opt.no_special) tokens.emplace_back("[SEP]");
  std::vector<int> ids;
  ids.reserve(tokens.size());
  for (const std::string& t : tokens) ids.push_back(tokenizer.vocab().find(t));

  nlohmann::ordered_json line;
  line["title"] = sanitize_utf8(title);  // JSON must stay valid UTF-8
  line["tokens"] = tokens;
  line["ids"] = ids;
  line["length"] = tokens.size();
  return line;
}

int run_tokenize(const TokenizeOptions& opt) {
  const Tokenizer tokenizer = Tokenizer::load(opt.vocab);
  std::ifstream file;
  if (opt.input != "-") {
    file.open(opt.input, std::ios::binary);
    if (!file) throw_error(ErrorKind::Io, std::string("cannot open for reading: ") + std::strerror(errno), at_file(opt.input));
  }
  std::istream& in = opt.input == "-" ? std::cin : file;
  std::size_t count = 0;
  std::string title;
  while (std::getline(in, title)) {
    if (!title.empty() && title.back() == '\r') title.pop_back();
    std::cout << tokenize_line(tokenizer, title, opt).dump() << '\n';
    ++count;
  }
  if (in.bad()) throw_error(ErrorKind::Io, "read failed", at_file(opt.input == "-" ? "<stdin>" : opt.input));
  std::cout.flush();
  if (!std::cout) throw_error(ErrorKind::Io, "write to standard output failed");
  spdlog::debug("tokenized {} title(s)", count);
  return 0;
}

}  // namespace

Command add_tokenize_command(CLI::App& root) {
  auto opt = std::make_shared<TokenizeOptions>();
  auto* sub = root.add_subcommand(
      "tokenize",
      "Tokenize titles (one per line) exactly as the model sees them; prints one JSON line per title:\n"
      "{\"title\", \"tokens\", \"ids\", \"length\"}, with [CLS]/[SEP] and truncation to --max-len");
  sub->add_option("--vocab", opt->vocab, "ERNIE vocab.txt (\"token\" or \"token<TAB>id\" per line)")
      ->required()
      ->group("Model");
  sub->add_option("--max-len", opt->max_len, "Tokens per title, [CLS] and [SEP] included (the original's max_seq_len)")
      ->capture_default_str()
      ->check(CLI::Range(2, 1 << 20))
      ->group("Data");
  sub->add_option("input,--input", opt->input, "File of titles, one per line; '-' reads standard input")
      ->capture_default_str()
      ->group("Data");
  sub->add_flag("--no-special", opt->no_special, "Leave out [CLS] and [SEP] (titles still keep at most max-len - 2 tokens)")
      ->group("Data");
  return {sub, [opt]() { return run_tokenize(*opt); }};
}

}  // namespace mvtag::cli
