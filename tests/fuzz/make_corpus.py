#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora, tests/fuzz/corpus/<target>/, from the test fixtures.

Run from anywhere: python3 tests/fuzz/make_corpus.py. It replaces the corpus folders
with copies of (or small inputs derived from) files under tests/fixtures/ and conf/, so the
fuzzers start from every format variant the tests know. Standard library only.
"""
import json
import pathlib
import shutil
import struct

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures"
OUT = ROOT / "tests" / "fuzz" / "corpus"


def files(*patterns):
    out = []
    for p in patterns:
        out.extend(sorted(FIX.glob(p)))
    return out


def seed_name(path):
    rel = path.relative_to(FIX) if FIX in path.parents else path.relative_to(ROOT)
    return "_".join(rel.parts)


def feature_pack(videos, dtype="float32", rgb_dim=3, audio_dim=2):
    """A feature pack as docs/FORMATS.md describes it, written independently of the C++ writer."""
    fmt = "<%d" + ("f" if dtype == "float32" else "e")
    body, index = bytearray(b"MVTAGPK1" + bytes(56)), []
    for key, rgb, audio in videos:
        index.append({"key": key, "video_id": "id-" + key, "offset": len(body), "rgb_rows": len(rgb) // rgb_dim,
                      "audio_rows": len(audio) // audio_dim, "audio_was_empty": not any(audio)})
        body += struct.pack(fmt % len(rgb), *rgb) + struct.pack(fmt % len(audio), *audio)
        body += bytes(-len(body) % 64)
    text = json.dumps({"format": "mvtag-pack", "version": 1, "dtype": dtype, "rgb_dim": rgb_dim,
                       "audio_dim": audio_dim, "videos": index}).encode()
    return bytes(body) + text + struct.pack("<QQ", len(body), len(text)) + b"MVTAGPKE"


def main():
    if OUT.exists():
        shutil.rmtree(OUT)
    titles = [json.loads(l)["title"] for l in (FIX / "tokenizer" / "cases.jsonl").read_text("utf-8").split("\n") if l]
    vocab = (FIX / "tokenizer" / "vocab.txt").read_bytes()
    derived = {
        "fuzz_vocab": {
            # vocabulary, NUL, title (see fuzz_vocab.cpp)
            **{f"vocab_title_{i}": vocab + b"\0" + t.encode("utf-8") for i, t in enumerate(titles[:12])},
            "small_vocab_title": b"[PAD]\n[CLS]\n[SEP]\n[UNK]\nab\t7\n##c\n" + b"\0" + "abc 你好, WORLD!".encode("utf-8"),
        },
        "fuzz_conf": {
            "literal_list": b"[[2048], [128], (5, 50, 1)]  # comment",
            "literal_strings": b"r'a\\b' u\"c\" '''d\ne''' 'f\\x41\\u00e9'",
            "literal_numbers": b"(-0x1F, 0o17, 0b101, 1e-3, .5, 10.)",
        },
        "fuzz_list_file": {
            "quoted": '"a\tb.mp4"\t"ti""tle"x\t拍人-帅哥,美食-烹饪\r\nc.mp4\tNA\n\ufeff'.encode("utf-8"),
        },
        "fuzz_feature_pack": {
            "two_videos_float32": feature_pack([("a", [1, 2, 3, 4, 5, 6], [0.5, -1]), ("b", [7, 8, 9], [0, 0] * 10)]),
            "one_video_float16": feature_pack([("k", [0.1, 2, -3], [4, 5, 6, 7])], "float16"),
        },
        "fuzz_class_map": {
            "indexed": "\ufeffa\t2\nb\t0\n\n c \t1\r\nb\t3\n".encode("utf-8"),
        },
    }
    copies = {
        "fuzz_pickle": files("pickle/*.pkl", "interop/torch_*.bin", "interop/ernie_hf_legacy/pytorch_model.bin",
                             "interop/ernie_hf_zip/pytorch_model.bin"),
        "fuzz_safetensors": files("model/*.safetensors", "tensorio/*.safetensors",
                                  "interop/ernie_hf_safetensors/model.safetensors"),
        "fuzz_zip": files("interop/ernie_hf_zip/pytorch_model.bin", "interop/torch_deflated.bin",
                          "interop/torch_list.bin", "interop/torch_nested.bin"),
        "fuzz_paddle_tensor": files("tensorio/reference.pdparams", "tensorio/word_embedding",
                                    "interop/ernie_paddle/word_embedding", "interop/ernie_paddle/pooled_fc.w_0",
                                    "interop/checkpoint_*/param"),
        "fuzz_conf": files("config/*.conf") + sorted((ROOT / "conf").glob("*.txt")),
        "fuzz_list_file": files("lists/val.txt"),
        "fuzz_class_map": files("lists/class.txt", "interop/ernie_paddle/vocab.txt"),
        "fuzz_vocab": [],
        "fuzz_feature_pack": [],
        "fuzz_json_config": files("interop/*/config.json", "interop/*/model.json", "interop/ernie_paddle/ernie_config.json",
                                  "model/*_config.json"),
    }
    for target, paths in copies.items():
        d = OUT / target
        d.mkdir(parents=True)
        for p in paths:
            shutil.copyfile(p, d / seed_name(p))
        for name, data in derived.get(target, {}).items():
            (d / name).write_bytes(data)
        print(f"{target}: {len(list(d.iterdir()))} seeds")


if __name__ == "__main__":
    main()
