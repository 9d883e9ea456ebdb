#include "mvtag/core/data/class_map.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/base/limits.h"
#include "mvtag/core/data/list_file.h"
#include "mvtag/core/text/utf8.h"

namespace mvtag {

namespace {

// Python int() for the index field: optional surrounding whitespace and sign, decimal digits.
bool parse_index(std::string_view s, long long* out) {
  s = python_strip(s);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return false;
  constexpr long long kCap = 1LL << 40;  // any larger index is out of range anyway
  long long value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    value = std::min(value * 10 + (c - '0'), kCap);
  }
  *out = negative ? -value : value;
  return true;
}

struct ClassLine {
  std::string name;
  long long index = 0;
  std::size_t line = 0;  // 1-based
};

// Splits on \n, \r\n and \r like Python's universal newlines; every line counts, blank or not.
std::vector<ClassLine> read_class_lines(std::string_view text, const std::string& source) {
  std::vector<ClassLine> out;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view raw = text.substr(pos, end - pos);
    pos = end;
    if (pos < text.size()) pos += (text[pos] == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n') ? 2 : 1;
    const std::size_t i = line_no++;
    const std::string_view stripped = python_strip(raw);
    if (stripped.empty()) continue;  // the original would register "" as a class name

    std::vector<std::string_view> fields;
    std::size_t start = 0;
    for (;;) {
      const std::size_t tab = stripped.find('\t', start);
      fields.push_back(stripped.substr(start, tab == std::string_view::npos ? tab : tab - start));
      if (tab == std::string_view::npos) break;
      start = tab + 1;
    }
    ClassLine entry;
    entry.name = std::string(fields[0]);
    entry.line = i + 1;
    entry.index = static_cast<long long>(i);
    if (fields.size() == 2 && !parse_index(fields[1], &entry.index)) {
      throw_error(ErrorKind::Data,
                  "class '" + entry.name + "': index '" + std::string(fields[1]) + "' is not an integer",
                  at_file(source, entry.line));
    }
    out.push_back(std::move(entry));
  }
  return out;
}

void check_range(const ClassLine& entry, int num_classes, const std::string& source) {
  if (entry.index >= 0 && entry.index < num_classes) return;
  const std::string origin = entry.index == static_cast<long long>(entry.line - 1)
                                 ? " (its 0-based line number)"
                                 : "";
  throw_error(ErrorKind::Data,
              "class '" + entry.name + "' has index " + std::to_string(entry.index) + origin +
                  ", expected 0 <= index < num_classes = " + std::to_string(num_classes),
              at_file(source, entry.line));
}

// max index + 1, for callers that do not know num_classes.
int inferred_num_classes(const std::vector<ClassLine>& lines, const std::string& source) {
  int out = 0;
  for (const auto& entry : lines) {
    if (entry.index >= limits::kMaxClasses) {
      throw_error(ErrorKind::Data,
                  "class '" + entry.name + "' has index " + std::to_string(entry.index) + ", above the limit of " +
                      std::to_string(limits::kMaxClasses - 1) + " (kMaxClasses)",
                  at_file(source, entry.line));
    }
    out = std::max(out, static_cast<int>(entry.index) + 1);
  }
  return out;
}

}  // namespace

ClassMap ClassMap::load(const std::string& path, int num_classes) {
  return parse(read_file(path), path, num_classes);
}

ClassMap ClassMap::parse(const std::string& text, const std::string& source, int num_classes) {
  if (num_classes < 0 || num_classes > limits::kMaxClasses) {
    throw_error(ErrorKind::Config,
                "num_classes must be in 0.." + std::to_string(limits::kMaxClasses) + " (kMaxClasses), got " +
                    std::to_string(num_classes),
                at_file(source));
  }
  const std::vector<ClassLine> lines = read_class_lines(checked_utf8_text(text, source), source);
  if (lines.empty()) throw_error(ErrorKind::Data, "no class names in the file", at_file(source));

  ClassMap map;
  map.num_classes_ = num_classes > 0 ? num_classes : inferred_num_classes(lines, source);

  // Python dict semantics: a repeated name keeps its first position but takes the later value.
  std::unordered_map<std::string, std::size_t> last_line;
  std::vector<std::string> first_seen_order;
  for (const auto& entry : lines) {
    check_range(entry, map.num_classes_, source);
    auto [it, inserted] = last_line.emplace(entry.name, entry.line);
    if (inserted) {
      first_seen_order.push_back(entry.name);
    } else {
      ++map.duplicate_names_;
      spdlog::warn("{}:{}: class '{}' was already defined on line {}; the later line wins (index {})",
                   source, entry.line, entry.name, it->second, entry.index);
      it->second = entry.line;
    }
    map.name_to_index_[entry.name] = static_cast<int>(entry.index);
  }

  map.invert(first_seen_order, last_line, source);
  return map;
}

// Inverting the dict in its order keeps, for a shared index, the name first defined last.
void ClassMap::invert(const std::vector<std::string>& first_seen_order,
                      const std::unordered_map<std::string, std::size_t>& last_line, const std::string& source) {
  index_to_name_.assign(static_cast<std::size_t>(num_classes_), std::string());
  std::vector<std::vector<std::string>> sharing(index_to_name_.size());
  for (const auto& name : first_seen_order) {
    const int index = name_to_index_.at(name);
    index_to_name_[index] = name;
    sharing[index].push_back(name);
  }
  std::size_t named = 0;
  for (std::size_t index = 0; index < sharing.size(); ++index) {
    if (!sharing[index].empty()) ++named;
    if (sharing[index].size() < 2) continue;
    ++shared_indices_;
    std::string list;
    for (const auto& name : sharing[index]) {
      list += (list.empty() ? "'" : ", '") + name + "' (line " + std::to_string(last_line.at(name)) + ")";
    }
    spdlog::warn("{}: index {} has several names: {}; output shows '{}'", source, index, list,
                 index_to_name_[index]);
  }
  if (named < index_to_name_.size()) {
    spdlog::warn("{}: {} of {} class indices have no name; they are shown as class_<index>", source,
                 index_to_name_.size() - named, index_to_name_.size());
  }
}

std::optional<int> ClassMap::find(const std::string& name) const {
  const auto it = name_to_index_.find(name);
  if (it == name_to_index_.end()) return std::nullopt;
  return it->second;
}

std::string ClassMap::name_of(int index) const {
  if (index < 0 || index >= num_classes_) {
    throw_error(ErrorKind::Data, "class index " + std::to_string(index) + " is outside [0, " +
                                     std::to_string(num_classes_) + ")");
  }
  const std::string& name = index_to_name_[static_cast<std::size_t>(index)];
  return name.empty() ? "class_" + std::to_string(index) : name;
}

std::vector<std::string> ClassMap::names() const {
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(num_classes_));
  for (int i = 0; i < num_classes_; ++i) out.push_back(name_of(i));
  return out;
}

std::string ClassMap::to_text() const {
  std::vector<std::pair<int, std::string>> rows;
  rows.reserve(name_to_index_.size());
  for (const auto& [name, index] : name_to_index_) rows.emplace_back(index, name);
  std::sort(rows.begin(), rows.end());
  std::string out;
  // load() removes one leading byte order mark: a first name that starts with U+FEFF (a file
  // that had two) needs one in front of it to read back intact.
  if (!rows.empty() && rows.front().second.rfind("\xEF\xBB\xBF", 0) == 0) out = "\xEF\xBB\xBF";
  for (const auto& [index, name] : rows) out += name + "\t" + std::to_string(index) + "\n";
  return out;
}

void ClassMap::save(const std::string& path) const { write_file_atomic(path, to_text()); }

}  // namespace mvtag
