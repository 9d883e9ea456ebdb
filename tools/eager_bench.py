#!/usr/bin/python3
"""The PyTorch-eager side of scripts/bench.sh: the same measurements as mvtag_bench_model
(tools/bench_model.cpp) on the same workload file (its --write-workload), with
tools/eager_model.py: eval forward without autograd, ERNIE alone, and a training step (ERNIE
frozen, sum BCE loss, backward, plain SGD update) per batch; one untimed warm-up batch first.
Prints one JSON line.

--precision runs the inference measurements (eval forward, ERNIE alone) like `mvtag
--precision`: int8 = torch.ao.quantization.quantize_dynamic (weights per channel) on ERNIE's
Linear layers and on the image/audio input projections (with the LSTM gate bias folded in, as
mvtag does); bf16 = ERNIE cast to bfloat16, its output cast back to float32. The training step
always runs float32 on a float32 copy.

    /usr/bin/python3 tools/eager_bench.py WORKLOAD.json --threads N [--iters 1] [--precision fp32|int8|bf16]
"""

import argparse
import copy
import json
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eager_model import VideoTagNet  # noqa: E402


def ernie_flops(e, titles, steps):
    d, inner = e["hidden_size"], e["intermediate_size"]
    per_layer = 8 * steps * d * d + 4 * steps * d * inner + 4 * steps * steps * d
    return per_layer * e["num_hidden_layers"] * titles


def matmul_gflops():
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    torch.mm(a, b)
    best = 0.0
    for _ in range(3):
        t = time.perf_counter()
        torch.mm(a, b)
        best = max(best, 2 * 2048 ** 3 / (time.perf_counter() - t) / 1e9)
    return best


def random_input(batch, cfg):
    rgb_len = torch.tensor(batch["rgb_len"])
    audio_len = torch.tensor(batch["audio_len"])
    text_len = torch.tensor(batch["text_len"])
    n = len(rgb_len)
    ids = torch.randint(4, cfg["ernie"]["vocab_size"], (n, int(text_len.max())))
    ids[:, 0] = 1
    ids[torch.arange(n), text_len - 1] = 2
    return (torch.randn(n, int(rgb_len.max()), cfg["rgb_dim"]), rgb_len,
            torch.randn(n, int(audio_len.max()), cfg["audio_dim"]), audio_len, ids, text_len)


def dynamic_int8(module):
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
    return quantize_dynamic(module, {nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)


def int8_projection(proj, bias):
    lin = nn.Linear(proj.in_features, proj.out_features)
    with torch.no_grad():
        lin.weight.copy_(proj.weight)
        lin.bias.copy_(bias)
    return dynamic_int8(nn.Sequential(lin))[0]


def apply_precision(net, precision):
    """An inference copy of `net` at `precision` (see the module docstring)."""
    net = copy.deepcopy(net).eval()
    if precision == "int8":
        net.ernie = dynamic_int8(net.ernie)
        for branch in (net.image, net.audio):
            fb, bb = branch.folded_biases()
            fq, bq = int8_projection(branch.fwd_proj, fb), int8_projection(branch.bwd_proj, bb)
            branch.project = lambda x, fq=fq, bq=bq: (fq(x), bq(x))
    elif precision == "bf16":
        net.ernie.to(torch.bfloat16)
    return net


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("workload")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--iters", type=int, default=1)
    ap.add_argument("--precision", choices=("fp32", "int8", "bf16"), default="fp32")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    with open(args.workload) as f:
        w = json.load(f)
    torch.manual_seed(w["seed"])
    cfg = w["config"]
    t = time.perf_counter()
    net = VideoTagNet(cfg)
    build_s = time.perf_counter() - t
    inputs, labels, videos, flops = [], [], 0, 0.0
    for b in w["batches"]:
        x = random_input(b, cfg)
        inputs.append(x)
        n = len(b["rgb_len"])
        labels.append((torch.rand(n, cfg["num_classes"]) < 0.03).float())
        videos += n
        flops += ernie_flops(cfg["ernie"], n, max(b["text_len"]))

    def timed(run):
        run(0)
        t0 = time.perf_counter()
        for _ in range(args.iters):
            for i in range(len(inputs)):
                run(i)
        return (time.perf_counter() - t0) / args.iters

    net.eval()
    infer_net = net if args.precision == "fp32" else apply_precision(net, args.precision)

    def eval_step(i):
        with torch.no_grad():
            infer_net(*inputs[i])

    def ernie_step(i):
        with torch.no_grad():
            infer_net.ernie(inputs[i][4], inputs[i][5])

    eval_s = timed(eval_step)
    ernie_s = timed(ernie_step)
    net.train()
    params = [p for p in net.parameters() if p.requires_grad]

    def train_step(i):
        loss = F.binary_cross_entropy_with_logits(net(*inputs[i]), labels[i], reduction="sum")
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.sub_(p.grad, alpha=1e-4)
                p.grad.zero_()

    train_s = timed(train_step)
    mm = matmul_gflops()
    print(json.dumps({
        "impl": "pytorch-eager", "workload": w["workload"], "precision": args.precision, "threads": torch.get_num_threads(), "videos": videos,
        "eval_videos_per_s": videos / eval_s, "train_samples_per_s": videos / train_s,
        "ernie_gflops": flops / ernie_s / 1e9, "matmul_gflops": mm,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, "build_s": build_s,
        "torch": torch.__version__}))


if __name__ == "__main__":
    main()
