#!/usr/bin/env bash
# Side-by-side speed benchmark: mvtag against the same network in PyTorch eager
# (tools/eager_model.py, checked against the golden logits by tools/eager_check.py first), on the
# same workload file, with the same thread count, alternating runs; medians and ratios at the end.
# docs/PERFORMANCE.md explains the workloads and holds the results.
#
#   scripts/bench.sh                         # both workloads, 3 rounds, threads = cores
#   WORKLOADS=small ROUNDS=5 THREADS=1 BATCHES=4 scripts/bench.sh
#
# The eager side needs Debian's python3-torch (apt-get install python3-torch); without it only
# mvtag is timed, and the script says so.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${BUILD_DIR:-$root/build}"
threads="${THREADS:-$(nproc)}"
rounds="${ROUNDS:-3}"
batches="${BATCHES:-4}"
workloads="${WORKLOADS:-original small}"
py=/usr/bin/python3
out="$build/bench"
mkdir -p "$out"

cmake --build "$build" --target mvtag_bench_model >/dev/null
eager=yes
if ! "$py" -c "import torch" 2>/dev/null; then
  eager=no
  echo "bench: python3-torch is not installed: timing mvtag only (apt-get install python3-torch for the comparison)" >&2
elif ! "$py" tools/eager_check.py; then
  echo "bench: the eager model does not match the golden logits; not comparing" >&2
  exit 1
fi

results="$out/results.jsonl"
: > "$results"
for w in $workloads; do
  "$build/tools/mvtag_bench_model" --workload "$w" --batches "$batches" --threads "$threads" \
    --write-workload "$out/$w.json" --json > /dev/null  # writes the workload (and warms the caches)
  for r in $(seq "$rounds"); do
    echo "bench: $w round $r/$rounds" >&2
    "$build/tools/mvtag_bench_model" --workload "$w" --batches "$batches" --threads "$threads" --json | tee -a "$results" >&2
    if [ "$eager" = yes ]; then
      "$py" tools/eager_bench.py "$out/$w.json" --threads "$threads" | tee -a "$results" >&2
    fi
  done
done

if [ ! -x "$py" ]; then cat "$results"; exit 0; fi
"$py" - "$results" "$threads" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
metrics = [("train_samples_per_s", "training, samples/s", True),
           ("train_samples_per_s_epoch1", "training, first epoch (mvtag fills its ERNIE cache)", True),
           ("eval_videos_per_s", "inference, videos/s (mvtag: length buckets, as infer runs)", True),
           ("eval_videos_per_s_unbucketed", "inference, videos/s, the workload's own batches", True),
           ("peak_rss_mb", "peak RSS, MB", False), ("ernie_gflops", "ERNIE forward, GFLOP/s", True)]
print("\n%s threads; medians of %s rounds; ratio = mvtag / eager for rates, eager / mvtag for memory\n"
      % (sys.argv[2], max(1, sum(1 for r in rows if r["impl"] == "mvtag") // max(1, len({r["workload"] for r in rows})))))
print("| workload | measure | mvtag | PyTorch eager | ratio |")
print("|---|---|---:|---:|---:|")
for w in dict.fromkeys(r["workload"] for r in rows):
    for key, label, higher in metrics:
        m = [r[key] for r in rows if r["workload"] == w and r["impl"] == "mvtag"]
        # the eager side has no cache: its every epoch is its first
        e = [r.get(key, r["train_samples_per_s"] if key.startswith("train") else
                   r["eval_videos_per_s"] if key.startswith("eval") else None)
             for r in rows if r["workload"] == w and r["impl"] == "pytorch-eager"]
        mm, em = statistics.median(m), (statistics.median(e) if e else None)
        ratio = "" if em is None else "%.2fx" % ((mm / em) if higher else (em / mm))
        print("| %s | %s | %.1f | %s | %s |" % (w, label, mm, "-" if em is None else "%.1f" % em, ratio))
    mmr = statistics.median([r["matmul_gflops"] for r in rows if r["workload"] == w])
    ern = statistics.median([r["ernie_gflops"] for r in rows if r["workload"] == w and r["impl"] == "mvtag"])
    print("| %s | matrix product 2048³, GFLOP/s (both) | %.1f | | ERNIE at %.0f%% of it |" % (w, mmr, 100 * ern / mmr))
PY
