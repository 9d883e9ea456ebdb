#!/usr/bin/python3
"""Goldens for the C++ tokenizer (src/core/text/tokenizer.cpp), from an independent reference.

The reference below is written from a description of the original's text pipeline
(scenario_lib/datareader/tokenization.py and ernie_task_reader.py; see docs/TOKENIZER.md)
with the standard library only (unicodedata); it is not BERT's or ERNIE's code. It writes

  tests/fixtures/tokenizer/vocab.txt    a small ERNIE-style vocab ("token<TAB>id", [PAD] 0 ... [UNK] last)
  tests/fixtures/tokenizer/cases.jsonl  one line per case: title, max_len, basic tokens,
                                        WordPiece tokens and ids with [CLS]/[SEP], length

Run once by hand from the repository root:  /usr/bin/python3 tools/make_tokenizer_goldens.py

Unicode versions: Python 3.11's unicodedata is Unicode 14.0; the C++ side uses utf8proc (Debian
bookworm: 2.8.0, Unicode 15.0). Every character used below must be assigned in 14.0 (checked at
run time) and none has properties that changed in 15.0. Invalid UTF-8 cannot be expressed in a
Python str, so those cases are written by hand in tests/core/tokenizer_test.cpp.
"""

import json
import os
import sys
import unicodedata

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "tokenizer")
MAX_WORD_CHARS = 100

# ---------------------------------------------------------------------------------------------
# Reference tokenizer (the original's FullTokenizer and data_generate_from_text)

CJK_RANGES = [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
              (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)]
ASCII_PUNCT_RANGES = [(33, 47), (58, 64), (91, 96), (123, 126)]


def in_ranges(cp, ranges):
    return any(lo <= cp <= hi for lo, hi in ranges)


def step1_and_2(title):
    """Clean (drop NUL, U+FFFD, C* but tab/LF/CR; whitespace -> ' ') and space out CJK."""
    out = []
    for ch in title:
        cp = ord(ch)
        cat = unicodedata.category(ch)
        if cp == 0 or cp == 0xFFFD or (ch not in "\t\n\r" and cat[0] == "C"):
            continue
        if ch in " \t\n\r" or cat == "Zs":
            out.append(" ")
        elif in_ranges(cp, CJK_RANGES):
            out.append(" " + ch + " ")
        else:
            out.append(ch)
    return "".join(out)


def is_punct(ch):
    return in_ranges(ord(ch), ASCII_PUNCT_RANGES) or unicodedata.category(ch)[0] == "P"


def basic_tokens(title):
    pieces = []
    for word in step1_and_2(title).split():
        word = unicodedata.normalize("NFD", word.lower())
        word = "".join(ch for ch in word if unicodedata.category(ch) != "Mn")
        current = ""
        for ch in word:
            if is_punct(ch):
                pieces += [current, ch]
                current = ""
            else:
                current += ch
        pieces.append(current)
    return " ".join(pieces).split()


def wordpiece(token, vocab):
    if len(token) > MAX_WORD_CHARS:
        return ["[UNK]"]
    out, start = [], 0
    while start < len(token):
        for end in range(len(token), start, -1):
            piece = ("##" if start else "") + token[start:end]
            if piece in vocab:
                out.append(piece)
                start = end
                break
        else:
            return ["[UNK]"]
    return out


def record(title, vocab, max_len):
    tokens = [p for t in basic_tokens(title) for p in wordpiece(t, vocab)]
    tokens = ["[CLS]"] + tokens[:max_len - 2] + ["[SEP]"]
    return tokens, [vocab[t] for t in tokens]


# ---------------------------------------------------------------------------------------------
# The vocabulary

COMMON_HANZI = (
    "的一是不了人我在有他这中大来上个国到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后"
    "小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长"
    "知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最"
    "间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市"
    "眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计"
    "或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让"
    "认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办"
    "运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持"
    "音叮肖宇梁铃床奔跑吧帅哥秀效星边歌曲舞蹈猫狗视频搞游戏价格"
)
# Left out on purpose so that they become [UNK]: 豈 (U+8C48, NFD of U+F900), 𠀀 (U+20000).

LATIN_WORDS = ["rain", "cafe", "the", "hello", "world", "music", "video", "vlog", "play", "dj", "mv",
               "ang", "ab", "abc", "cls", "sep", "unk", "full", "width", "tab", "here", "new", "line",
               "nbsp", "ideo", "ls", "price", "file", "istanbul", "2021", "10", "100"]
LATIN_CONTINUATIONS = ["co", "st", "rom", "ing", "s", "ed", "er", "lo", "ld", "00", "21", "tok"]
PUNCT = list("，。！？《》「」…—、：；（）【】,.!?()[]-_'\"#@&*/:;|")
EXTRA = ["～", "￥", "$", "+", "😀", "❤", "か", "##か", "な", "カ", "##タ", "##カ", "##ナ",
         "ᄒ", "##ᅡ", "##ᆫ", "ᄀ", "##ᅮ", "##ᆨ", "ο", "##δ", "##ο", "##ς", "##σ", "σ", "α",
         "##α", "β", "ａｂｃ", "##１２３", "ﬁ", "##le"]


def build_vocab():
    tokens = ["[PAD]", "[CLS]", "[SEP]", "[MASK]"]
    tokens += PUNCT
    tokens += list(COMMON_HANZI)
    tokens += [str(d) for d in range(10)] + ["##" + str(d) for d in range(10)]
    # "q" is missing (also as "##q") so that words containing it have no WordPiece match.
    letters = [c for c in "abcdefghijklmnopqrstuvwxyz" if c != "q"]
    tokens += letters + ["##" + c for c in letters]
    tokens += LATIN_WORDS + ["##" + w for w in LATIN_CONTINUATIONS]
    tokens += EXTRA
    tokens.append("[UNK]")
    seen, unique = set(), []
    for t in tokens:
        if t not in seen:
            seen.add(t)
            unique.append(t)
    return {t: i for i, t in enumerate(unique)}


# ---------------------------------------------------------------------------------------------
# The cases

LONG_TITLE = "我们一起来看今天的新视频" * 5  # 60 Chinese characters -> truncated at max_len 50

CASES_50 = [
    "叮叮来自肖宇梁肖宇梁rainco的特别起床铃声",
    "Café ÀÉÎ Ångström",
    "HELLO World MusicVideo 2021年第1期vlog",
    "ＡＢＣ１２３ full-width ＡＢＣ",
    "你好，世界！《奔跑吧》「好看」…——、（真的）【MV】",
    "Hello,World!(hello)[world]\"dj\"#tag@me&play*10/100",
    "价格～100￥ $5+10 😀🔥好 abc😀 ❤️ 👨\u200d👩\u200d👧",
    "a\x00b\x07c\u200bd\u200de\ufeff f\x7fg\x1bh\u00adi",
    "tab\there\nnew\rline\u00a0nbsp\u3000ideo\u2028ls\u2029end\u0085x\x0by\x0cz\x1cw",
    "한국어 노래 한 국",
    "がぎぐ カタカナ ﾊﾟﾝ か\u3099",
    "a" * 100,
    "a" * 101,
    "qqq abq bqa 好qq",
    "[CLS] 标题 [SEP] [UNK] [MASK]",
    "",
    "   \t\u3000  ",
    "!!!???。。。",
    LONG_TITLE,
    "ΟΔΟΣ ΑΣ.Β Σ ΣΑΣ ΑΣ'",
    "İstanbul İ",
    "\u0378x\ue000y\ufffdz",
    "\u0301abc e\u0301 a\u0328\u0301",
    "豈 𠀀 㐀 ⺀abc",
    # One character from each CJK range glued to Latin, then Ext F (U+2CEB0) and Ext G (U+30000),
    # which are outside the ranges and stay glued.
    "a一b㐀c\U00020000d\U0002A700e\U0002B740f\U0002B820g\uF900h\U0002F800i\U0002CEB0j\U00030000k",
    "ﬁle Ⅻ ½ ²",
    # Spacing marks with combining classes 224 and 9 survive accent stripping; NFD reorders them.
    "x\u302e\u1b44y",
    "Rain-CO rainco RAINCO",
]
CASES_8 = [
    "叮叮来自肖宇梁肖宇梁rainco的特别起床铃声",
    "hello world",
    "abcdef",
    "",
    LONG_TITLE,
]


def check_unicode_14(title):
    for ch in title:
        if unicodedata.category(ch) == "Cn" and ord(ch) != 0x0378:
            sys.exit("U+%04X is unassigned in Unicode %s; pick another character"
                     % (ord(ch), unicodedata.unidata_version))


def main():
    if unicodedata.unidata_version != "14.0.0":
        print("note: unicodedata is Unicode %s, the goldens were made with 14.0.0" % unicodedata.unidata_version)
    vocab = build_vocab()
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, "vocab.txt"), "w", encoding="utf-8", newline="\n") as f:
        for token, idx in vocab.items():
            f.write("%s\t%d\n" % (token, idx))
    with open(os.path.join(OUT_DIR, "cases.jsonl"), "w", encoding="utf-8", newline="\n") as f:
        for max_len, titles in ((50, CASES_50), (8, CASES_8)):
            for title in titles:
                check_unicode_14(title)
                tokens, ids = record(title, vocab, max_len)
                case = {"title": title, "max_len": max_len, "basic": basic_tokens(title),
                        "tokens": tokens, "ids": ids, "length": len(ids)}
                f.write(json.dumps(case, ensure_ascii=False) + "\n")
    print("wrote %d vocab entries and %d cases to %s" % (len(vocab), len(CASES_50) + len(CASES_8), OUT_DIR))


if __name__ == "__main__":
    main()
