#!/usr/bin/python3
"""Goldens for mvtag's metrics (tests/core/metrics_test.cpp).

An independent NumPy reference written from the definitions in Google's YouTube-8M code (see
docs/METRICS.md: Hit@1, PERR, GAP@k, mAP) and the original's scenario_lib/accuracy_metrics.py (its
Hit@k), plus per-class precision/recall/F1 at a threshold. The scores are random float32 values
without ties, so no tie rule is involved and the goldens hold for any tie order.

Run once by hand: /usr/bin/python3 tools/make_metrics_goldens.py
Writes tests/fixtures/metrics/<pattern>.json.
"""
import json
import os

import numpy as np

N, C = 50, 12
HIT_KS = [1, 2, 3, 5, 10]
TOP_KS = [20, 5]  # 20 > C keeps every pair; 5 drops positives outside each video's top 5
THRESHOLD = 0.5


def tie_free_scores(rng, y):
    # Positives get a head start so the metrics land mid-range instead of near chance.
    while True:
        s = (0.75 * rng.random((N, C)) + 0.25 * y).astype(np.float32)
        if len(np.unique(s)) == s.size:
            return s


def labels_sparse(rng):
    y = np.zeros((N, C), dtype=np.int64)
    for i in range(N):
        n = rng.choice([0, 1, 1, 2, 2, 3])
        y[i, rng.choice(C, size=n, replace=False)] = 1
    return y


def labels_dense_missing_classes(rng):
    y = np.zeros((N, C), dtype=np.int64)
    for i in range(N):
        if i % 7 == 3:
            continue  # a few videos without labels
        n = rng.integers(2, 7)
        y[i, rng.choice(C - 2, size=n, replace=False)] = 1  # classes C-2 and C-1 never positive
    return y


def labels_single(rng):
    y = np.zeros((N, C), dtype=np.int64)
    for i in range(N):
        if i % 10 != 9:
            y[i, rng.integers(0, C)] = 1
    return y


def ranked(row):
    # No ties in the data, so any correct descending order will do.
    return list(np.argsort(-row.astype(np.float64)))


def original_hit_at(s, y, k):
    hits = sum(1 for i in range(N) if any(y[i, c] >= 0.1 for c in ranked(s[i])[:10][:k]))
    return 100.0 * hits / N


def yt8m_hit1(s, y):
    return float(np.mean([y[i, int(np.argmax(s[i]))] for i in range(N)]))


def perr(s, y):
    total = 0.0
    for i in range(N):
        n_i = int(y[i].sum())
        if n_i == 0:
            continue  # contributes 0 but still counts in N
        top = ranked(s[i])[:n_i]
        total += sum(1 for c in top if y[i, c] > 0 and s[i, c] > 0) / n_i
    return total / N


def top_pairs(s, y, k):
    """(video, class, score, label) for each video's top-min(k, C) scores."""
    out = []
    for i in range(N):
        for c in ranked(s[i])[:min(k, C)]:
            out.append((i, c, float(s[i, c]), int(y[i, c])))
    return out


def average_precision(pairs, num_positives):
    """Non-interpolated AP over the pairs sorted by score, divided by all positives."""
    if num_positives == 0:
        return 0.0
    pairs = sorted(pairs, key=lambda p: -p[2])
    hits, total = 0, 0.0
    for rank, p in enumerate(pairs, start=1):
        if p[3] > 0:
            hits += 1
            total += hits / rank
    return total / num_positives


def gap(s, y, k):
    return average_precision(top_pairs(s, y, k), int(y.sum()))


def class_aps(s, y, k):
    pairs = top_pairs(s, y, k)
    return [average_precision([p for p in pairs if p[1] == c], int(y[:, c].sum())) for c in range(C)]


def safe_div(a, b):
    return a / b if b > 0 else 0.0


def f1(p, r):
    return safe_div(2 * p * r, p + r)


def precision_recall(s, y):
    pred = s >= THRESHOLD
    per_class = []
    for c in range(C):
        tp = int(np.sum(pred[:, c] & (y[:, c] > 0)))
        npred, support = int(pred[:, c].sum()), int(y[:, c].sum())
        p, r = safe_div(tp, npred), safe_div(tp, support)
        per_class.append({"support": support, "predicted": npred, "true_positives": tp,
                          "precision": p, "recall": r, "f1": f1(p, r)})
    tp = sum(m["true_positives"] for m in per_class)
    p = safe_div(tp, sum(m["predicted"] for m in per_class))
    r = safe_div(tp, sum(m["support"] for m in per_class))
    micro = {"precision": p, "recall": r, "f1": f1(p, r)}
    macro = {key: float(np.mean([m[key] for m in per_class])) for key in ("precision", "recall", "f1")}
    return per_class, micro, macro


def make(name, seed, make_labels):
    rng = np.random.default_rng(seed)
    y = make_labels(rng)
    s = tie_free_scores(rng, y)
    per_class, micro, macro = precision_recall(s, y)
    cases = []
    for k in TOP_KS:
        aps = class_aps(s, y, k)
        cases.append({"top_k": k, "gap": gap(s, y, k), "map": float(np.mean(aps)), "class_ap": aps})
    record = {
        "num_videos": N, "num_classes": C, "threshold": THRESHOLD,
        # float32 values written as their exact double, so C++ reads back the same floats.
        "scores": [[float(v) for v in row] for row in s],
        "labels": y.tolist(),
        "hit_at": {str(k): original_hit_at(s, y, k) for k in HIT_KS},
        "yt8m_hit1": yt8m_hit1(s, y),
        "perr": perr(s, y),
        "per_class": per_class, "micro": micro, "macro": macro,
        "cases": cases,
    }
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "metrics")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(record, f, separators=(",", ":"))
        f.write("\n")


make("sparse", 11, labels_sparse)
make("dense_missing_classes", 12, labels_dense_missing_classes)
make("single_label", 13, labels_single)
