#!/usr/bin/env bash
# Side-by-side speed benchmark: mvtag against the same network in PyTorch eager
# (tools/eager_model.py, checked against the golden logits by tools/eager_check.py first), on the
# same workload file, with the same thread count, alternating runs; medians and ratios at the end.
# docs/PERFORMANCE.md explains the workloads and holds the results.
#
#   scripts/bench.sh                         # both workloads, 3 rounds, threads = cores
#   WORKLOADS=small ROUNDS=5 THREADS=1 BATCHES=4 scripts/bench.sh
#   PRECISIONS="fp32 int8 bf16" scripts/bench.sh   # adds inference rows at int8 and bf16
#
# PRECISIONS (default fp32): each precision other than fp32 adds, per round, one more run of
# each side at that precision (mvtag_bench_model --precision, tools/eager_bench.py --precision),
# and a second table: inference at that precision against eager fp32 and eager at the same
# precision.
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
precisions="${PRECISIONS:-fp32}"
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
    for p in $precisions; do
      [ "$p" = fp32 ] && continue
      echo "bench: $w round $r/$rounds, precision $p" >&2
      "$build/tools/mvtag_bench_model" --workload "$w" --batches "$batches" --threads "$threads" --precision "$p" \
        --json | tee -a "$results" >&2
      if [ "$eager" = yes ]; then
        "$py" tools/eager_bench.py "$out/$w.json" --threads "$threads" --precision "$p" | tee -a "$results" >&2
      fi
    done
  done
done

if [ ! -x "$py" ]; then cat "$results"; exit 0; fi
"$py" - "$results" "$threads" <<'PY'
import json, statistics, sys
all_rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
rows = [r for r in all_rows if r.get("precision", "fp32") == "fp32"]
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
low = [r for r in all_rows if r.get("precision", "fp32") != "fp32"]
if low:
    print("\nInference at reduced precision (eval forward, videos/s; medians). vs eager fp32: the target\n"
          "of issue 10; vs eager same: the same precision on both sides.\n")
    print("| workload | precision | mvtag | eager fp32 | eager same | mvtag fp32 | vs eager fp32 | vs eager same | vs mvtag fp32 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    def med(rs, impl, p):
        v = [r["eval_videos_per_s"] for r in rs if r["impl"] == impl and r.get("precision", "fp32") == p]
        return statistics.median(v) if v else None
    fmt = lambda v: "-" if v is None else "%.1f" % v
    ratio = lambda a, b: "" if a is None or b is None else "%.2fx" % (a / b)
    for w in dict.fromkeys(r["workload"] for r in all_rows):
        rs = [r for r in all_rows if r["workload"] == w]
        for p in dict.fromkeys(r["precision"] for r in low if r["workload"] == w):
            m, e32, ep, m32 = med(rs, "mvtag", p), med(rs, "pytorch-eager", "fp32"), med(rs, "pytorch-eager", p), med(rs, "mvtag", "fp32")
            print("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (w, p, fmt(m), fmt(e32), fmt(ep), fmt(m32),
                                                                 ratio(m, e32), ratio(m, ep), ratio(m, m32)))
PY
