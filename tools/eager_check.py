#!/usr/bin/python3
"""Checks that tools/eager_model.py is the same network as mvtag before scripts/bench.sh times
it: loads the golden fixture's weights (tests/fixtures/model/a_*, written by the independent
reference tools/make_model_goldens.py) into the eager model and compares its eval-mode logits
with the golden ones. Exit 0 and one line when they agree to 1e-4, 1 otherwise.

    /usr/bin/python3 tools/eager_check.py
"""

import json
import os
import re
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eager_model import VideoTagNet  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "model")
DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64}

# mvtag's parameter names (docs/FORMATS.md) -> eager_model's
RENAMES = [
    (r"^ernie\.word_embeddings\.", "ernie.word."), (r"^ernie\.position_embeddings\.", "ernie.pos."),
    (r"^ernie\.sentence_embeddings\.", "ernie.sent."), (r"^ernie\.embedding_norm\.", "ernie.ln."),
    (r"\.attention\.query\.", ".q."), (r"\.attention\.key\.", ".k."), (r"\.attention\.value\.", ".v."),
    (r"\.attention\.output\.", ".o."), (r"\.attention_norm\.", ".ln1."), (r"\.ffn_in\.", ".fc1."),
    (r"\.ffn_out\.", ".fc2."), (r"\.ffn_norm\.", ".ln2."),
    (r"^textcnn\.conv2\.", "textcnn.convs.0."), (r"^textcnn\.conv3\.", "textcnn.convs.1."),
    (r"^textcnn\.conv4\.", "textcnn.convs.2."),
    (r"_lstm\.weight_hh$", ".w_hh"), (r"_lstm\.bias$", ".bias"), (r"_lstm\.peephole$", ".peep"),
    (r"\.attention\.tanh_fc\.", ".tanh_fc."), (r"\.attention\.score_fc\.", ".score_fc."),
    (r"^classifier\.", "head."),
]


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        arr = np.frombuffer(data[8 + n + a:8 + n + b], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def eager_name(name):
    for pattern, repl in RENAMES:
        name = re.sub(pattern, repl, name)
    return name


def main():
    with open(os.path.join(FIXTURES, "a_config.json")) as f:
        cfg = json.load(f)
    net = VideoTagNet(cfg)
    weights = {eager_name(k): v for k, v in read_safetensors(os.path.join(FIXTURES, "a_weights.safetensors")).items()}
    own = dict(net.named_parameters())
    missing, unexpected = set(own) - set(weights), set(weights) - set(own)
    if missing or unexpected:
        print("eager_check: names differ: missing %s, unexpected %s" % (sorted(missing), sorted(unexpected)))
        return 1
    with torch.no_grad():
        for k, p in own.items():
            p.copy_(weights[k].to(p.dtype))
    io = read_safetensors(os.path.join(FIXTURES, "a_io.safetensors"))
    net.eval()
    with torch.no_grad():
        logits = net(io["rgb"].float(), io["rgb_len"], io["audio"].float(), io["audio_len"], io["text_ids"],
                     io["text_len"])
    diff = (logits.double() - io["logits"].double()).abs().max().item()
    ok = diff <= 1e-4
    print("eager_check: the eager model %s the golden logits (max |difference| %.2g)" % ("matches" if ok else "DIFFERS from", diff))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
