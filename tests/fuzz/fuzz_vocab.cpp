// vocab.txt, and the tokenizer on a title. The input is split at its first NUL byte (or its
// middle): the part before is the vocabulary, the part after the title; the title is also
// tokenized with a fixed vocabulary, so that both halves are fuzzed even when the vocabulary
// is refused.
#include <string>

#include "fuzz_util.h"
#include "mvtag/core/text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mvtag;
  fuzz::quiet_logs();
  static const Tokenizer fixed(Vocab::parse("[PAD]\n[CLS]\n[SEP]\n[MASK]\n[UNK]\n的\n我\nhello\n##lo\nhel\n##l\n,\n", "fixed"));
  const std::string_view input = fuzz::as_view(data, size);
  std::size_t cut = input.find('\0');
  if (cut == std::string_view::npos) cut = input.size() / 2;
  const std::string_view vocab_text = input.substr(0, cut);
  const std::string_view title = input.substr(std::min(cut + 1, input.size()));
  fuzz::expect_parse_or_error([&] {
    const Tokenizer tokenizer(Vocab::parse(vocab_text, "vocab.txt"));
    const TextRecord record = tokenizer.encode(title, 64);
    (void)expand_text_record(record, 64, tokenizer.vocab().pad_id());
  });
  fuzz::expect_parse_or_error([&] {
    (void)basic_tokenize(input);
    const TextRecord record = fixed.encode(title);
    if (record.length() > kDefaultMaxLen) std::abort();
  });
  return 0;
}
