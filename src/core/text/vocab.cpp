#include "mvtag/core/text/vocab.h"

#include <algorithm>
#include <climits>

#include <spdlog/spdlog.h>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/base/limits.h"
#include "mvtag/core/text/utf8.h"

namespace mvtag {

namespace {

// Python's text-mode file iteration: lines end at "\n", "\r\n" or a lone "\r".
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\n' && text[i] != '\r') continue;
    lines.push_back(text.substr(start, i - start));
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    start = i + 1;
  }
  if (start < text.size()) lines.push_back(text.substr(start));
  return lines;
}

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  for (;;) {
    const std::size_t tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
    if (tab == std::string_view::npos) return fields;
    start = tab + 1;
  }
}

// Python int() on the id field, restricted to ASCII digits with an optional sign.
int parse_id(std::string_view field, const Location& where) {
  const std::string_view s = python_strip(field);
  const bool negative = !s.empty() && s[0] == '-';
  std::size_t i = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
  if (i == s.size() || s.find_first_not_of("0123456789", i) != std::string_view::npos) {
    throw_error(ErrorKind::Data, "token id '" + std::string(field) + "' is not an integer", where);
  }
  long long value = 0;
  for (; i < s.size() && value <= limits::kMaxVocabId; ++i) value = value * 10 + (s[i] - '0');
  if (negative && value != 0) {
    throw_error(ErrorKind::Data, "token id " + std::string(s) + " is negative; ids must be >= 0", where);
  }
  if (value > limits::kMaxVocabId) {
    throw_error(ErrorKind::Data,
                "token id " + std::string(s) + " is above the limit of " + std::to_string(limits::kMaxVocabId) +
                    " (kMaxVocabId)",
                where);
  }
  return static_cast<int>(value);
}

}  // namespace

Vocab Vocab::load(const std::string& path) { return parse(read_file(path), path); }

Vocab Vocab::parse(std::string_view text, const std::string& source) {
  Vocab v;
  v.source_ = source;
  // Python's utf-8 codec would keep a BOM glued to the first token and lose "[PAD]"; be kinder.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") {
    spdlog::warn("{}: starts with a UTF-8 byte order mark; ignoring it", source);
    text.remove_prefix(3);
  }
  const std::vector<std::string_view> lines = split_lines(text);
  for (std::size_t index = 0; index < lines.size(); ++index) {
    const Location where = at_file(source, index + 1);
    std::size_t replaced = 0;
    sanitize_utf8(lines[index], &replaced);
    if (replaced != 0) throw_error(ErrorKind::Data, "invalid UTF-8 in the vocabulary", where);
    const std::vector<std::string_view> fields = split_tabs(python_strip(lines[index]));
    if (fields.size() > 2) {
      spdlog::warn("{}:{}: line has {} tab-separated fields (at most 2 expected); stopped reading the "
                   "vocabulary here, as the original does ({} tokens kept)",
                   source, index + 1, fields.size(), v.ids_.size());
      break;
    }
    std::string token(python_strip(fields[0]));
    if (fields.size() < 2 && index > static_cast<std::size_t>(limits::kMaxVocabId)) {
      throw_error(ErrorKind::Data,
                  "line number as id is above the limit of " + std::to_string(limits::kMaxVocabId) + " (kMaxVocabId)",
                  where);
    }
    const int id = fields.size() == 2 ? parse_id(fields[1], where) : static_cast<int>(index);
    if (token.empty()) {
      spdlog::debug("{}:{}: empty token skipped", source, index + 1);
      continue;
    }
    v.insert(std::move(token), id, index + 1);
  }
  v.finish();
  return v;
}

Vocab Vocab::from_tokens(const std::vector<std::string>& tokens, const std::string& source) {
  Vocab v;
  v.source_ = source;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    if (t.empty() || python_strip(t).size() != t.size() || t.find_first_of("\t\r\n") != std::string::npos) {
      throw_error(ErrorKind::Data, "token " + std::to_string(i) + " ('" + sanitize_utf8(t) +
                                       "') is empty or has surrounding whitespace, a tab or a line break",
                  at_file(source));
    }
    if (i > static_cast<std::size_t>(INT_MAX)) throw_error(ErrorKind::Data, "too many tokens", at_file(source));
    v.insert(t, static_cast<int>(i), i + 1);
  }
  v.finish();
  return v;
}

void Vocab::insert(std::string token, int id, std::size_t line) {
  const auto it = ids_.find(token);
  if (it != ids_.end()) {
    if (duplicate_tokens_++ == 0) first_duplicate_token_line_ = line;
    it->second = id;
    return;
  }
  order_.push_back(token);
  ids_.emplace(std::move(token), id);
}

void Vocab::finish() {
  // id -> token as the original's {v: k for k, v in vocab.items()}: in order of first appearance,
  // the later token wins an id they share.
  int shared_example = kMissing;
  for (const std::string& t : order_) {
    const int id = ids_.at(t);
    auto [it, inserted] = tokens_.emplace(id, t);
    if (!inserted) {
      if (duplicate_ids_++ == 0) shared_example = id;
      it->second = t;
    }
    max_id_ = std::max(max_id_, id);
  }
  if (duplicate_tokens_ != 0) {
    spdlog::warn("{}: {} duplicate token(s), the first at line {}; the later line wins", source_,
                 duplicate_tokens_, first_duplicate_token_line_);
  }
  if (duplicate_ids_ != 0) {
    spdlog::warn("{}: {} token(s) share an id with an earlier token (e.g. id {}); lookups by id give the "
                 "later one",
                 source_, duplicate_ids_, shared_example);
  }
  const auto special = [this](const char* name) {
    const int id = find(name);
    if (id == kMissing) {
      throw_error(ErrorKind::Data, std::string("vocabulary has no '") + name + "' token", at_file(source_));
    }
    return id;
  };
  pad_id_ = special("[PAD]");
  cls_id_ = special("[CLS]");
  sep_id_ = special("[SEP]");
  unk_id_ = special("[UNK]");
  mask_id_ = find("[MASK]");
}

const std::string& Vocab::token(int id) const {
  const auto it = tokens_.find(id);
  if (it == tokens_.end()) throw_error(ErrorKind::Data, "no token has id " + std::to_string(id), at_file(source_));
  return it->second;
}

std::vector<std::pair<std::string, int>> Vocab::entries() const {
  std::vector<std::pair<std::string, int>> out;
  out.reserve(order_.size());
  for (const std::string& t : order_) out.emplace_back(t, ids_.at(t));
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  return out;
}

void write_vocab(const Vocab& vocab, const std::string& path) {
  std::string text;
  for (const auto& [token, id] : vocab.entries()) {
    text += token;
    text += '\t';
    text += std::to_string(id);
    text += '\n';
  }
  write_file_atomic(path, text);
}

}  // namespace mvtag
