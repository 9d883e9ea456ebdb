// Video list files (train.txt, val.txt): one video per line, `name \t title \t label1,label2,...`,
// read as the original's load_video_file (scenario_lib/datareader/feature_reader.py:
// pandas.read_csv(sep='\t', header=None)).
//
// Parsing, as pandas does it where it matters:
// - A leading UTF-8 BOM is removed; line ends \n, \r\n and \r are accepted.
// - Lines that are empty or hold only spaces and tabs are skipped.
// - A field that starts with '"' is quoted: it ends at the next lone '"', "" inside is a literal
//   quote, and it may contain tabs and line ends (so a row may span lines; its line is the first).
//   Characters after the closing quote, up to the next tab, are appended. A '"' elsewhere in a
//   field is literal. An unterminated quote is an error naming the line where it started.
// - Rows with fewer than 3 fields get NaN for the missing ones; a row with more fields than the
//   first row is an error naming file:line (pandas: "Expected N fields in line L, saw M").
// - A field that is exactly an NA token ('', 'NA', 'N/A', 'NaN', 'nan', 'null', 'NULL', 'None',
//   '#N/A', '<NA>', ...; see is_na_token) is NaN, quoted or not. No whitespace is stripped.
// - Invalid UTF-8 is an error naming file:line (no replacement characters).
// Not emulated: pandas turns an all-numeric column into numbers (so a title "007" in a file
// whose titles are all numeric would become "7"); we always keep the text as written.
//
// Rows, in file order (Labeled mode, i.e. train and valid):
// - no name (NaN) -> skipped, counted; a name already accepted -> skipped, counted (the first
//   accepted row wins; a row skipped for its labels does not claim the name);
// - NaN title -> "";
// - NaN labels -> skipped, counted; labels are split on ',' (no stripping), unknown names are
//   dropped and counted per name; a row left without any known label is skipped, counted.
// Infer mode keeps every named row once (first occurrence) and ignores the labels column.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mvtag/core/data/class_map.h"

namespace mvtag {

enum class ListMode {
  Labeled,  // train and valid: rows need at least one known label
  Infer,    // labels are ignored, every named row is kept
};

struct VideoItem {
  std::string name;         // column 0: file name or URL
  std::string title;        // column 1, "" when NaN
  std::vector<int> labels;  // known label indices, sorted and unique (empty in Infer mode)
  std::size_t line = 0;     // 1-based line where the row starts
};

struct ListReport {
  std::string source;                 // file name, for the summary
  std::size_t rows = 0;               // non-blank rows read
  std::size_t kept = 0;               // rows returned
  std::size_t without_name = 0;       // rows whose name is NaN
  std::size_t duplicates = 0;         // rows whose name was already accepted
  std::size_t without_labels = 0;     // Labeled mode: labels column NaN
  std::size_t only_unknown_labels = 0;  // Labeled mode: no label name is in the class map
  std::map<std::string, std::size_t> unknown_labels;  // unknown label name -> occurrences

  // One line for the log, e.g. "val.txt: 464 videos (3 duplicates skipped, 2 without labels
  // skipped; unknown labels: 拍人-xx ×2)". Unknown names are listed most frequent first
  // (at most 10, then "and N more").
  std::string summary() const;
};

struct ListFile {
  std::vector<VideoItem> items;
  ListReport report;
};

ListFile read_list_file(const std::string& path, ListMode mode, const ClassMap& classes);
// The same from text already in memory; `source` names it in errors and in the report.
ListFile parse_list_file(const std::string& text, const std::string& source, ListMode mode,
                         const ClassMap& classes);

// The key of a video's feature file: the last '/'-component of the url up to its first '.'
// (Python: url.split('/')[-1].split('.')[0]). "a/b/1f2e.mp4" -> "1f2e".
std::string video_key(const std::string& url);

// Whether a whole field is one of pandas' default NA tokens.
bool is_na_token(std::string_view field);

// Shared by the text list readers (this file and class.txt): the text without a leading UTF-8
// BOM, after checking it is valid UTF-8. Throws Error(Data) naming source:line of the first
// invalid byte sequence.
std::string_view checked_utf8_text(const std::string& text, const std::string& source);

}  // namespace mvtag
