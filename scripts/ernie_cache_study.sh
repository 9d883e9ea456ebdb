#!/usr/bin/env bash
# Validation Hit@1 and GAP with and without TRAIN.ernie_cache (docs/COMPAT.md), over seeds, on
# the demo data and on a larger generated set. One line per run, then a summary.
#   scripts/ernie_cache_study.sh            # SEEDS="1 2 3" THREADS=1 OUT=runs/ernie_cache_study
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mvtag="${MVTAG:-$root/build/mvtag}"
seeds="${SEEDS:-1 2 3}"
threads="${THREADS:-1}"
out="${OUT:-runs/ernie_cache_study}"
mkdir -p "$out"
[ -d demo_data ] || "$mvtag" demo-data --output demo_data
[ -d "$out/large_data" ] || "$mvtag" demo-data --output "$out/large_data" --train 2400 --val 600 --seed 11

results="$out/results.tsv"
printf 'set\tcache\tseed\tbest_epoch\thit1\tgap\ttrain_videos_per_s\n' > "$results"
for set in demo large; do
  sets=()
  if [ "$set" = large ]; then
    sets=(--set "TRAIN.filelist=\"$out/large_data/feature_files/\"" --set "TRAIN.url_title_label_file=\"$out/large_data/train.txt\""
          --set "VALID.filelist=\"$out/large_data/feature_files/\"" --set "VALID.url_title_label_file=\"$out/large_data/val.txt\""
          --set "MODEL.class_name_file=\"$out/large_data/class.txt\"" --set "TRAIN.ernie_pretrain_dict_path=\"$out/large_data/ernie/\""
          --set "TRAIN.num_samples=2400")
  fi
  for seed in $seeds; do
    for cache in True False; do
      dir="$out/$set-cache$cache-seed$seed"
      rm -rf "$dir"
      "$mvtag" train --conf conf/demo.txt --save_dir "$dir" --threads "$threads" --log-level warn \
        --set TRAIN.seed="$seed" --set TRAIN.ernie_cache="$cache" "${sets[@]}"
      /usr/bin/python3 - "$dir/metrics.jsonl" "$set" "$cache" "$seed" >> "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
best = max((r for r in rows if "valid" in r), key=lambda r: (r["valid"]["hit_at"]["1"], -r["epoch"]))
speed = sum(r["train"]["videos"] for r in rows) / sum(r["train"]["seconds"] for r in rows)
print("%s\t%s\t%s\t%d\t%.2f\t%.4f\t%.1f" % (sys.argv[2], sys.argv[3], sys.argv[4], best["epoch"],
      best["valid"]["hit_at"]["1"], best["valid"]["gap"], speed))
PY
      tail -1 "$results"
    done
  done
done
/usr/bin/python3 - "$results" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
print("\n| data | TRAIN.ernie_cache | Hit@1 per seed | mean Hit@1 | GAP per seed | mean GAP | train videos/s |")
print("|---|---|---|---:|---|---:|---:|")
for s in dict.fromkeys(r["set"] for r in rows):
    for c in ("True", "False"):
        g = [r for r in rows if r["set"] == s and r["cache"] == c]
        h = [float(r["hit1"]) for r in g]; a = [float(r["gap"]) for r in g]
        v = statistics.median(float(r["train_videos_per_s"]) for r in g)
        print("| %s | %s | %s | %.2f | %s | %.4f | %.1f |" % (s, c, ", ".join("%.2f" % x for x in h), statistics.mean(h),
              ", ".join("%.4f" % x for x in a), statistics.mean(a), v))
PY
