// The ERNIE vocabulary (vocab.txt): token <-> id, read exactly like the original's load_vocab
// (scenario_lib/datareader/tokenization.py), plus the special tokens the text pipeline needs.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mvtag {

class Vocab {
 public:
  static constexpr int kMissing = -1;

  // Reads a vocab file. Each line is stripped (Python str.strip) and split on '\t':
  // "token" (id = 0-based line number) or "token\tid". A line with more than 2 fields stops
  // reading (warning with its line number). Duplicate tokens or ids: the later line wins
  // (counted, one warning each kind). Throws Error naming file:line for invalid UTF-8 or an id
  // that is not a non-negative integer, and naming the file and token when [PAD], [CLS], [SEP]
  // or [UNK] is missing.
  static Vocab load(const std::string& path);
  // Same rules on text already in memory; `source` names it in messages.
  static Vocab parse(std::string_view text, const std::string& source);
  // tokens[i] gets id i (for demo data and tests). Same checks as load().
  static Vocab from_tokens(const std::vector<std::string>& tokens, const std::string& source = "<tokens>");

  // Id of `token`, or kMissing.
  int find(const std::string& token) const {
    const auto it = ids_.find(token);
    return it == ids_.end() ? kMissing : it->second;
  }
  bool contains(const std::string& token) const { return ids_.count(token) != 0; }
  // Token for `id`. Throws Error(Data) naming the vocab when no token has that id.
  const std::string& token(int id) const;
  bool has_id(int id) const { return tokens_.count(id) != 0; }

  int pad_id() const { return pad_id_; }
  int cls_id() const { return cls_id_; }
  int sep_id() const { return sep_id_; }
  int unk_id() const { return unk_id_; }
  int mask_id() const { return mask_id_; }  // kMissing when the vocab has no [MASK]

  std::size_t size() const { return ids_.size(); }  // distinct tokens
  int max_id() const { return max_id_; }            // the embedding table needs max_id()+1 rows
  const std::string& source() const { return source_; }
  std::size_t duplicate_tokens() const { return duplicate_tokens_; }
  std::size_t duplicate_ids() const { return duplicate_ids_; }

  // (token, id) pairs sorted by id, then by first appearance: what write_vocab writes.
  std::vector<std::pair<std::string, int>> entries() const;

 private:
  Vocab() = default;
  void insert(std::string token, int id, std::size_t line);
  void finish();

  std::string source_;
  std::unordered_map<std::string, int> ids_;
  std::unordered_map<int, std::string> tokens_;
  std::vector<std::string> order_;  // tokens in order of first appearance
  int pad_id_ = kMissing, cls_id_ = kMissing, sep_id_ = kMissing, unk_id_ = kMissing,
      mask_id_ = kMissing;
  int max_id_ = -1;
  std::size_t duplicate_tokens_ = 0;
  std::size_t duplicate_ids_ = 0;
  std::size_t first_duplicate_token_line_ = 0;
};

// Writes "token\tid" lines in id order, atomically; load() of the result gives the same maps.
void write_vocab(const Vocab& vocab, const std::string& path);

}  // namespace mvtag
