#include "mvtag/core/text/tokenizer.h"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <utility>

#include <spdlog/spdlog.h>

#include "mvtag/core/base/error.h"
#include "mvtag/core/text/utf8.h"

namespace mvtag {

namespace {

// ---- UTF-8 ---------------------------------------------------------------------------------

// Calls emit(code point) for each character, a maximal invalid subpart giving one U+FFFD as
// Python's decode(errors='replace') does; returns the number of U+FFFD replacements.
template <class Emit>
std::size_t for_each_char(std::string_view s, Emit&& emit) {
  std::size_t invalid = 0;
  for (std::size_t i = 0; i < s.size();) {
    const Utf8Char c = decode_utf8(s, i);
    emit(c.cp);
    invalid += !c.valid;
    i += c.length;
  }
  return invalid;
}

// ---- Character classes (the original's scenario_lib/datareader/tokenization.py) ---------------

utf8proc_category_t category(char32_t c) { return utf8proc_category(static_cast<utf8proc_int32_t>(c)); }

bool is_other_category(utf8proc_category_t cat) {
  return cat == UTF8PROC_CATEGORY_CN || cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF ||
         cat == UTF8PROC_CATEGORY_CS || cat == UTF8PROC_CATEGORY_CO;
}

// Step 1 drops these: NUL, U+FFFD and every category C* character except \t \n \r.
bool is_dropped(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  return c == 0 || c == kReplacementCharacter || is_other_category(category(c));
}

// Step 1 turns these into ' '.
bool is_clean_space(char32_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || category(c) == UTF8PROC_CATEGORY_ZS;
}

bool is_cjk(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

bool is_punctuation(char32_t c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  if (c < 0x80) return false;
  const auto cat = category(c);
  return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

// Unicode "Cased" built from what utf8proc exposes: Lu, Ll, Lt, anything with a case mapping,
// and the Other_Lowercase/Other_Uppercase characters that have neither (ª, º, squared, circled
// and negative squared Latin capitals). Checked against Python for every Unicode 14 character.
bool is_cased(char32_t c) {
  const auto cat = category(c);
  if (cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT) return true;
  if (c == 0xAA || c == 0xBA || (c >= 0x1F130 && c <= 0x1F149) || (c >= 0x1F150 && c <= 0x1F169) ||
      (c >= 0x1F170 && c <= 0x1F189)) {
    return true;
  }
  const auto i = static_cast<utf8proc_int32_t>(c);
  return utf8proc_tolower(i) != i || utf8proc_toupper(i) != i;
}

// Unicode "Case_Ignorable": Mn, Me, Cf, Lm, Sk, plus Word_Break MidLetter, MidNumLet, Single_Quote.
bool is_case_ignorable(char32_t c) {
  static constexpr std::array<char32_t, 17> kMidLetterOrQuote = {
      0x0027, 0x002E, 0x003A, 0x00B7, 0x0387, 0x055F, 0x05F4, 0x2018, 0x2019,
      0x2024, 0x2027, 0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A};
  const auto cat = category(c);
  if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_ME || cat == UTF8PROC_CATEGORY_CF ||
      cat == UTF8PROC_CATEGORY_LM || cat == UTF8PROC_CATEGORY_SK) {
    return true;
  }
  return std::find(kMidLetterOrQuote.begin(), kMidLetterOrQuote.end(), c) != kMidLetterOrQuote.end();
}

// Python's str.lower() turns U+03A3 into final sigma after a cased letter that is not followed by
// one (case-ignorable characters in between are skipped).
bool is_final_sigma(const char32_t* word, std::size_t n, std::size_t at) {
  std::size_t j = at;
  while (j > 0 && is_case_ignorable(word[j - 1])) --j;
  if (j == 0 || !is_cased(word[j - 1])) return false;
  j = at + 1;
  while (j < n && is_case_ignorable(word[j])) ++j;
  return j == n || !is_cased(word[j]);
}

// ---- The pipeline ----------------------------------------------------------------------------

// Per-thread buffers, so that steady-state tokenization allocates nothing per character.
struct Scratch {
  std::u32string text;     // after steps 1-2
  std::u32string lowered;  // one whitespace token after lower()
  std::u32string word;     // ... after NFD and dropping Mn
  std::string utf8;        // one basic token, encoded
  std::vector<std::size_t> offsets;  // byte offset of each of its code points, plus the end
  std::string key;         // WordPiece lookup key
  struct Piece {
    std::size_t begin, end;
    int id;
  };
  std::vector<Piece> pieces;
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// Steps 1-2: decode, clean, put spaces around CJK characters.
void clean_text(std::string_view title, std::u32string& out) {
  out.clear();
  out.reserve(title.size() + 8);
  const std::size_t invalid = for_each_char(title, [&out](char32_t c) {
    if (is_dropped(c)) return;
    if (is_clean_space(c)) {
      out += U' ';
    } else if (is_cjk(c)) {
      out += U' ';
      out += c;
      out += U' ';
    } else {
      out += c;
    }
  });
  if (invalid != 0) {
    spdlog::debug("title has {} invalid UTF-8 sequence(s); replaced by U+FFFD and dropped: '{}'", invalid,
                  sanitize_utf8(title));
  }
}

// Step 4 lower(). Python uses full case mapping; it differs from the simple one only for final
// sigma and for U+0130 (-> "i\u0307"), whose U+0307 accent stripping removes again.
void lower_word(const char32_t* w, std::size_t n, std::u32string& out) {
  out.clear();
  for (std::size_t i = 0; i < n; ++i) {
    const char32_t c = w[i];
    if (c < 0x80) {
      out += (c >= 'A' && c <= 'Z') ? c + 32 : c;
    } else if (c == 0x03A3) {
      out += is_final_sigma(w, n, i) ? char32_t{0x03C2} : char32_t{0x03C3};
    } else {
      out += static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
    }
  }
}

int combining_class(char32_t c) {
  return c < 0x300 ? 0 : utf8proc_get_property(static_cast<utf8proc_int32_t>(c))->combining_class;
}

// Step 4 accent stripping: NFD (decomposition + canonical ordering), then drop category Mn.
void strip_accents(const std::u32string& in, std::u32string& out) {
  out.clear();
  bool needs_ordering = false;
  for (const char32_t c : in) {
    if (c < 0x80) {
      out += c;
      continue;
    }
    utf8proc_int32_t buf[32];
    int boundclass = 0;
    const auto n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(c), buf, 32, UTF8PROC_DECOMPOSE, &boundclass);
    for (utf8proc_ssize_t k = 0; k < std::min<utf8proc_ssize_t>(n, 32); ++k) {
      out += static_cast<char32_t>(buf[k]);
      needs_ordering = needs_ordering || combining_class(static_cast<char32_t>(buf[k])) != 0;
    }
  }
  if (needs_ordering) {
    // Canonical ordering: a stable sort by combining class of each run of non-starters.
    for (std::size_t i = 1; i < out.size(); ++i) {
      const int cc = combining_class(out[i]);
      if (cc == 0) continue;
      for (std::size_t j = i; j > 0 && combining_class(out[j - 1]) > cc; --j) std::swap(out[j - 1], out[j]);
    }
  }
  out.erase(std::remove_if(out.begin(), out.end(), [](char32_t c) {
              return c >= 0x300 && category(c) == UTF8PROC_CATEGORY_MN;
            }),
            out.end());
}

// Steps 3-6: calls basic(const char32_t*, size_t) for every basic token of the cleaned text.
template <class Basic>
void for_each_basic_token(Scratch& s, Basic&& basic) {
  const std::u32string& text = s.text;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_python_space(text[i])) ++i;
    std::size_t end = i;
    while (end < text.size() && !is_python_space(text[end])) ++end;
    if (end == i) break;
    lower_word(text.data() + i, end - i, s.lowered);
    strip_accents(s.lowered, s.word);
    // Steps 5-6: punctuation characters become tokens of their own; whitespace separates.
    std::size_t start = 0;
    for (std::size_t k = 0; k < s.word.size(); ++k) {
      const char32_t c = s.word[k];
      const bool punct = is_punctuation(c);
      if (punct || is_python_space(c)) {
        if (k > start) basic(s.word.data() + start, k - start);
        if (punct) basic(s.word.data() + k, 1);
        start = k + 1;
      }
    }
    if (s.word.size() > start) basic(s.word.data() + start, s.word.size() - start);
    i = end;
  }
}

}  // namespace

// ---- Basic tokenization ----------------------------------------------------------------------

std::vector<std::string> basic_tokenize(std::string_view title) {
  Scratch& s = scratch();
  clean_text(title, s.text);
  std::vector<std::string> out;
  for_each_basic_token(s, [&out](const char32_t* p, std::size_t n) {
    std::string t;
    for (std::size_t k = 0; k < n; ++k) append_utf8(t, p[k]);
    out.push_back(std::move(t));
  });
  return out;
}

// ---- Records ---------------------------------------------------------------------------------

std::vector<std::int64_t> expand_text_record(const TextRecord& record, std::size_t max_len, std::int64_t pad_id) {
  const std::size_t len = record.length();
  if (len > max_len) {
    throw_error(ErrorKind::Data, "text record has " + std::to_string(len) + " tokens, more than max_len " +
                                     std::to_string(max_len));
  }
  std::vector<std::int64_t> out(5 * max_len, 0);
  std::int64_t* src = out.data();
  std::int64_t* sent = src + max_len;
  std::int64_t* pos = sent + max_len;
  std::int64_t* mask = pos + 2 * max_len;  // row 3 (task ids) stays 0
  for (std::size_t i = 0; i < max_len; ++i) {
    const bool real = i < len;
    src[i] = real ? record.token_ids[i] : pad_id;
    sent[i] = real ? 0 : pad_id;
    pos[i] = real ? static_cast<std::int64_t>(i) : pad_id;
    mask[i] = real ? 1 : 0;
  }
  return out;
}

// ---- Tokenizer -------------------------------------------------------------------------------

namespace {

// WordPiece on one basic token: calls piece(text_without_hashes, continuation, id) per piece.
template <class Piece>
void wordpiece_token(const Vocab& vocab, Scratch& s, const char32_t* p, std::size_t n, Piece&& piece) {
  static const std::string kUnk = "[UNK]";
  if (n > kMaxWordChars) {
    piece(std::string_view(kUnk), false, vocab.unk_id());
    return;
  }
  s.utf8.clear();
  s.offsets.clear();
  for (std::size_t k = 0; k < n; ++k) {
    s.offsets.push_back(s.utf8.size());
    append_utf8(s.utf8, p[k]);
  }
  s.offsets.push_back(s.utf8.size());
  s.pieces.clear();
  std::size_t start = 0;
  while (start < n) {
    int id = Vocab::kMissing;
    std::size_t end = n;
    for (; end > start; --end) {
      s.key.assign(start > 0 ? "##" : "");
      s.key.append(s.utf8, s.offsets[start], s.offsets[end] - s.offsets[start]);
      id = vocab.find(s.key);
      if (id != Vocab::kMissing) break;
    }
    if (id == Vocab::kMissing) {
      piece(std::string_view(kUnk), false, vocab.unk_id());
      return;
    }
    s.pieces.push_back({s.offsets[start], s.offsets[end], id});
    start = end;
  }
  for (const auto& pc : s.pieces) {
    piece(std::string_view(s.utf8).substr(pc.begin, pc.end - pc.begin), pc.begin > 0, pc.id);
  }
}

template <class Piece>
void for_each_piece(const Vocab& vocab, std::string_view title, Piece&& piece) {
  Scratch& s = scratch();
  clean_text(title, s.text);
  for_each_basic_token(s, [&](const char32_t* p, std::size_t n) { wordpiece_token(vocab, s, p, n, piece); });
}

}  // namespace

Tokenizer::Tokenizer(Vocab vocab) : vocab_(std::move(vocab)) {}

std::vector<std::string> Tokenizer::tokenize(std::string_view title) const {
  std::vector<std::string> out;
  for_each_piece(vocab_, title, [&out](std::string_view text, bool continuation, int) {
    out.push_back(continuation ? "##" + std::string(text) : std::string(text));
  });
  return out;
}

void Tokenizer::tokenize_ids(std::string_view title, std::vector<std::int64_t>& out) const {
  for_each_piece(vocab_, title, [&out](std::string_view, bool, int id) { out.push_back(id); });
}

TextRecord Tokenizer::encode(std::string_view title, std::size_t max_len) const {
  if (max_len < 2) {
    throw_error(ErrorKind::Usage, "max_len must be at least 2 ([CLS] and [SEP]), got " + std::to_string(max_len));
  }
  TextRecord r;
  r.token_ids.reserve(std::min<std::size_t>(max_len, title.size() + 2));
  r.token_ids.push_back(vocab_.cls_id());
  tokenize_ids(title, r.token_ids);
  if (r.token_ids.size() > max_len - 1) r.token_ids.resize(max_len - 1);
  r.token_ids.push_back(vocab_.sep_id());
  return r;
}

std::vector<std::string> Tokenizer::wordpiece(std::string_view basic_token) const {
  std::u32string cps;
  for_each_char(basic_token, [&cps](char32_t c) { cps += c; });
  std::vector<std::string> out;
  wordpiece_token(vocab_, scratch(), cps.data(), cps.size(), [&out](std::string_view text, bool cont, int) {
    out.push_back(cont ? "##" + std::string(text) : std::string(text));
  });
  return out;
}

}  // namespace mvtag
