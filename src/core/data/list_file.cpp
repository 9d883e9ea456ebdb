#include "mvtag/core/data/list_file.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <unordered_set>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/text/utf8.h"

namespace mvtag {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// 1-based line of byte offset `pos`, counting \n, \r\n and a lone \r as line ends.
std::size_t line_at(std::string_view text, std::size_t pos) {
  std::size_t line = 1;
  for (std::size_t i = 0; i < pos && i < text.size(); ++i) {
    if (text[i] == '\n' || (text[i] == '\r' && (i + 1 >= text.size() || text[i + 1] != '\n'))) ++line;
  }
  return line;
}

bool is_line_end(char c) { return c == '\n' || c == '\r'; }

struct Row {
  std::vector<std::string> fields;
  std::size_t line = 0;
};

// pandas' C tokenizer with sep='\t', quotechar='"', doublequote, skip_blank_lines.
class RowReader {
 public:
  RowReader(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  // False at the end of the text.
  bool next(Row* row) {
    while (pos_ < text_.size() && skip_blank_line()) continue;
    if (pos_ >= text_.size()) return false;
    row->fields.clear();
    row->line = line_;
    for (;;) {
      row->fields.push_back(read_field());
      if (pos_ >= text_.size() || text_[pos_] != '\t') break;
      ++pos_;
    }
    consume_line_end();
    return true;
  }

 private:
  // Consumes the current line if it holds only spaces and tabs; true if it did.
  bool skip_blank_line() {
    std::size_t i = pos_;
    while (i < text_.size() && (text_[i] == ' ' || text_[i] == '\t')) ++i;
    if (i < text_.size() && !is_line_end(text_[i])) return false;
    pos_ = i;
    consume_line_end();
    return true;
  }

  void consume_line_end() {
    if (pos_ >= text_.size()) return;
    if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
  }

  std::string read_field() {
    std::string field;
    if (pos_ < text_.size() && text_[pos_] == '"') read_quoted(&field);
    const std::size_t end = std::min(text_.find_first_of("\t\r\n", pos_), text_.size());
    field.append(text_.substr(pos_, end - pos_));
    pos_ = end;
    return field;
  }

  void read_quoted(std::string* field) {
    const std::size_t start_line = line_;
    ++pos_;
    for (;;) {
      if (pos_ >= text_.size()) {
        throw_error(ErrorKind::Data,
                    "a field starts with '\"' (a quoted field) but its closing quote is missing; "
                    "to keep a leading quote as text, quote the field and double it: \"\"\"text\"",
                    at_file(source_, start_line));
      }
      const char c = text_[pos_];
      if (c == '"') {
        if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
          *field += '"';
          pos_ += 2;
          continue;
        }
        ++pos_;
        if (line_ != start_line) {
          spdlog::warn("{}:{}: a quoted field spans lines {}-{} (read as one field, like pandas); check for a stray '\"'",
                       source_, start_line, start_line, line_);
        }
        return;
      }
      if (c == '\n' || (c == '\r' && (pos_ + 1 >= text_.size() || text_[pos_ + 1] != '\n'))) ++line_;
      *field += c;
      ++pos_;
    }
  }

  std::string_view text_;
  const std::string& source_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
};

// The label field split on ',' (no stripping) and mapped through the class map: sorted, unique
// indices; unknown names are counted in the report.
std::vector<int> known_labels(const std::string& field, const ClassMap& classes, ListReport* report) {
  std::vector<int> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = field.find(',', start);
    const std::string name = field.substr(start, comma == std::string::npos ? comma : comma - start);
    if (const auto index = classes.find(name)) {
      out.push_back(*index);
    } else {
      ++report->unknown_labels[name];
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string count_phrase(std::size_t n, const std::string& singular, const std::string& plural,
                         const std::string& tail) {
  return std::to_string(n) + " " + (n == 1 ? singular : plural) + tail;
}

}  // namespace

bool is_na_token(std::string_view field) {
  static constexpr std::array<std::string_view, 19> kTokens = {
      "",     "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
      "<NA>", "N/A",  "NA",       "NULL", "NaN",    "None",     "n/a",  "nan",  "null"};
  return std::find(kTokens.begin(), kTokens.end(), field) != kTokens.end();
}

std::string_view checked_utf8_text(const std::string& text, const std::string& source) {
  std::string_view view(text);
  if (view.substr(0, kBom.size()) == kBom) view.remove_prefix(kBom.size());
  const std::size_t pos = find_invalid_utf8(view);
  if (pos != std::string_view::npos) {
    throw_error(ErrorKind::Data,
                "invalid UTF-8 (byte offset " + std::to_string(pos + (text.size() - view.size())) +
                    "); the file must be UTF-8 encoded",
                at_file(source, line_at(view, pos)));
  }
  return view;
}

std::string video_key(const std::string& url) {
  const std::size_t slash = url.rfind('/');
  const std::string base = slash == std::string::npos ? url : url.substr(slash + 1);
  return base.substr(0, base.find('.'));
}

ListFile read_list_file(const std::string& path, ListMode mode, const ClassMap& classes) {
  return parse_list_file(read_file(path), path, mode, classes);
}

ListFile parse_list_file(const std::string& text, const std::string& source, ListMode mode,
                         const ClassMap& classes) {
  ListFile out;
  ListReport& report = out.report;
  report.source = source;
  RowReader reader(checked_utf8_text(text, source), source);
  std::unordered_set<std::string> accepted;
  std::size_t width = 0;
  std::size_t first_line = 0;
  Row row;
  while (reader.next(&row)) {
    ++report.rows;
    if (width == 0) {
      width = row.fields.size();
      first_line = row.line;
    } else if (row.fields.size() > width) {
      throw_error(ErrorKind::Data,
                  "expected at most " + std::to_string(width) +
                      " tab-separated fields (as many as the first row, line " +
                      std::to_string(first_line) + "), found " + std::to_string(row.fields.size()),
                  at_file(source, row.line));
    }
    const auto is_na = [&row](std::size_t i) { return i >= row.fields.size() || is_na_token(row.fields[i]); };

    if (is_na(0)) {
      ++report.without_name;
      continue;
    }
    VideoItem item;
    item.name = row.fields[0];
    item.line = row.line;
    if (accepted.count(item.name) != 0) {
      ++report.duplicates;
      continue;
    }
    if (!is_na(1)) item.title = row.fields[1];

    if (mode == ListMode::Labeled) {
      if (is_na(2)) {
        ++report.without_labels;
        continue;
      }
      item.labels = known_labels(row.fields[2], classes, &report);
      if (item.labels.empty()) {
        ++report.only_unknown_labels;
        continue;
      }
    }
    accepted.insert(item.name);
    out.items.push_back(std::move(item));
  }
  report.kept = out.items.size();
  return out;
}

std::string ListReport::summary() const {
  std::vector<std::string> skipped;
  if (without_name > 0) skipped.push_back(count_phrase(without_name, "row", "rows", " without a name skipped"));
  if (duplicates > 0) skipped.push_back(count_phrase(duplicates, "duplicate", "duplicates", " skipped"));
  if (without_labels > 0) skipped.push_back(std::to_string(without_labels) + " without labels skipped");
  if (only_unknown_labels > 0) {
    skipped.push_back(std::to_string(only_unknown_labels) + " with only unknown labels skipped");
  }
  std::string details;
  for (const auto& part : skipped) details += (details.empty() ? "" : ", ") + part;

  if (!unknown_labels.empty()) {
    std::vector<std::pair<std::string, std::size_t>> names(unknown_labels.begin(), unknown_labels.end());
    std::stable_sort(names.begin(), names.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    constexpr std::size_t kShown = 10;
    std::string list;
    for (std::size_t i = 0; i < names.size() && i < kShown; ++i) {
      const std::string shown = names[i].first.empty() ? "\"\"" : names[i].first;
      list += (i == 0 ? "" : ", ") + shown + " ×" + std::to_string(names[i].second);
    }
    if (names.size() > kShown) list += ", and " + std::to_string(names.size() - kShown) + " more";
    details += (details.empty() ? "" : "; ") + std::string("unknown labels: ") + list;
  }
  std::string out = source + ": " + count_phrase(kept, "video", "videos", "");
  if (!details.empty()) out += " (" + details + ")";
  return out;
}

}  // namespace mvtag
