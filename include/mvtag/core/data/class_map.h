// The class map (class.txt): class name <-> label index, as the original's load_class_file.
//
// Format (load_class_file in the original's scenario_lib/datareader/feature_reader.py): UTF-8
// lines, line i counted from 0 over *every* line, blank ones included.
// Each line is stripped (Python str.strip whitespace) and split on '\t'; the name is the first
// field, the index is the second field when there are exactly two fields, else i. So a plain
// one-name-per-line file gives index = 0-based line number. Line ends: \n, \r\n or \r.
//
// Where we differ from the original, on purpose:
// - Blank lines are skipped (the original registered "" as a class) but still count for i.
// - A leading UTF-8 BOM is removed (the original made it part of the first name).
// - An index that is not an integer or lies outside [0, num_classes) is an error naming
//   file:line (the original only failed later, skipping every sample that used it).
// - Invalid UTF-8 is an error naming file:line.
// Kept from the original: a duplicated name is taken from its later line (warned, with both
// lines). Two names may share an index (warned); the name shown for such an index is the one
// Python's inverted dict would keep (the name first defined last).
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace mvtag {

class ClassMap {
 public:
  ClassMap() = default;

  // num_classes: MODEL.num_classes; 0 = take max index + 1 from the file.
  static ClassMap load(const std::string& path, int num_classes = 0);
  // The same from text already in memory; `source` names it in errors and warnings.
  static ClassMap parse(const std::string& text, const std::string& source, int num_classes = 0);

  int num_classes() const { return num_classes_; }
  // Number of distinct names.
  std::size_t size() const { return name_to_index_.size(); }
  std::optional<int> find(const std::string& name) const;
  // The name of an index for output; "class_<i>" for an index no name maps to.
  // Throws Error(Data) for an index outside [0, num_classes).
  std::string name_of(int index) const;
  // name_of(i) for every i in [0, num_classes).
  std::vector<std::string> names() const;
  const std::unordered_map<std::string, int>& name_to_index() const { return name_to_index_; }

  // Counts from parsing, for tests and the log.
  std::size_t duplicate_names() const { return duplicate_names_; }
  std::size_t shared_indices() const { return shared_indices_; }

  // "name\tindex\n" lines sorted by index (then by name), which load() reads back to the same map.
  std::string to_text() const;
  // to_text() written atomically (for exported models).
  void save(const std::string& path) const;

 private:
  void invert(const std::vector<std::string>& first_seen_order,
              const std::unordered_map<std::string, std::size_t>& last_line, const std::string& source);

  int num_classes_ = 0;
  std::unordered_map<std::string, int> name_to_index_;
  std::vector<std::string> index_to_name_;  // "" where no name maps to the index
  std::size_t duplicate_names_ = 0;
  std::size_t shared_indices_ = 0;
};

}  // namespace mvtag
