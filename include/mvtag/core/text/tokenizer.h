// The ERNIE/BERT FullTokenizer (BasicTokenizer with do_lower_case=True, then WordPiece) and the
// text record built from a title, exactly as the original does it (scenario_lib/datareader/tokenization.py
// and ExtractEmbeddingReader.data_generate_from_text in scenario_lib/datareader/ernie_task_reader.py).
// See docs/TOKENIZER.md for the invalid UTF-8 policy and the known differences from Python.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mvtag/core/text/utf8.h"  // the tokenizer replaces invalid UTF-8 as sanitize_utf8 does
#include "mvtag/core/text/vocab.h"

namespace mvtag {

constexpr std::size_t kDefaultMaxLen = 50;   // max_seq_len of the original, [CLS] and [SEP] included
constexpr std::size_t kMaxWordChars = 100;   // longer basic tokens become [UNK]

// ---- Tokenization ----------------------------------------------------------------------------

// BasicTokenizer(do_lower_case=True): clean, split CJK characters, split on whitespace, lower(),
// NFD and drop Mn, split punctuation. Needs no vocabulary. Invalid UTF-8 is replaced by U+FFFD,
// which the cleaning step drops (logged at debug level); it never throws.
std::vector<std::string> basic_tokenize(std::string_view title);

// A title as the model sees it: [CLS] + the first max_len-2 WordPiece ids + [SEP].
// Sentence ids (all 0) and positions (0..L-1) follow from the length, so they are not stored.
struct TextRecord {
  std::vector<std::int64_t> token_ids;
  std::size_t length() const { return token_ids.size(); }
};

// The original's per-sample text tensor [5, max_len] (row-major, int64): src ids, sent ids,
// position ids, task ids, input mask. Rows 0-2 are padded with pad_id, task ids are 0, the mask
// is 1 for the first length() positions. Throws Error(Data) if the record is longer than max_len.
std::vector<std::int64_t> expand_text_record(const TextRecord& record, std::size_t max_len,
                                             std::int64_t pad_id);

// Thread-safe: the const methods may be called from several loader threads at once.
class Tokenizer {
 public:
  explicit Tokenizer(Vocab vocab);
  static Tokenizer load(const std::string& vocab_path) { return Tokenizer(Vocab::load(vocab_path)); }

  const Vocab& vocab() const { return vocab_; }

  // WordPiece tokens of the title ("##" marks continuations; unknown words are "[UNK]").
  std::vector<std::string> tokenize(std::string_view title) const;
  // Their ids, appended to `out` (no [CLS]/[SEP], no truncation).
  void tokenize_ids(std::string_view title, std::vector<std::int64_t>& out) const;
  // [CLS] + ids truncated to max_len-2 + [SEP]. Throws Error(Usage) if max_len < 2.
  TextRecord encode(std::string_view title, std::size_t max_len = kDefaultMaxLen) const;
  // WordPiece alone, on one basic token: greedy longest match, [UNK] for the whole token when
  // some position has no match or the token has more than kMaxWordChars code points.
  std::vector<std::string> wordpiece(std::string_view basic_token) const;

 private:
  Vocab vocab_;
};

}  // namespace mvtag
