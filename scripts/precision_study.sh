#!/usr/bin/env bash
# What --precision int8 and bf16 change against fp32 (docs/PERFORMANCE.md, "Reduced precision"):
# trains conf/demo.txt once per data set (the demo data, and a larger generated set as in
# scripts/ernie_cache_study.sh), then evaluates and tags the validation videos with the same
# best checkpoint at fp32, int8 and bf16, and prints Hit@1, GAP@20, the largest and the mean
# absolute probability difference against fp32 (over every video and class) and how many
# videos change their top class.
#   scripts/precision_study.sh        # SETS="demo large" SEED=1 THREADS=2 OUT=runs/precision_study
# A trained model already in OUT is reused (delete OUT/<set>-model to train again).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mvtag="${MVTAG:-$root/build/mvtag}"
sets="${SETS:-demo large}"
seed="${SEED:-1}"
threads="${THREADS:-2}"
out="${OUT:-runs/precision_study}"
precisions="fp32 int8 bf16"
mkdir -p "$out"
[ -d demo_data ] || "$mvtag" demo-data --output demo_data
case " $sets " in *" large "*)
  [ -d "$out/large_data" ] || "$mvtag" demo-data --output "$out/large_data" --train 2400 --val 600 --seed 11 ;;
esac

for set in $sets; do
  data=()
  if [ "$set" = large ]; then
    d="$out/large_data"
    data=(--set "TRAIN.filelist=\"$d/feature_files/\"" --set "TRAIN.url_title_label_file=\"$d/train.txt\""
          --set "VALID.filelist=\"$d/feature_files/\"" --set "VALID.url_title_label_file=\"$d/val.txt\""
          --set "INFER.filelist=\"$d/feature_files/\"" --set "INFER.url_title_label_file=\"$d/val.txt\""
          --set "MODEL.class_name_file=\"$d/class.txt\"" --set "TRAIN.ernie_pretrain_dict_path=\"$d/ernie/\""
          --set "TRAIN.num_samples=2400")
  fi
  model="$out/$set-model"
  if [ ! -d "$model/best" ]; then
    rm -rf "$model"
    "$mvtag" train --conf conf/demo.txt --save_dir "$model" --threads "$threads" --log-level warn \
      --set TRAIN.seed="$seed" "${data[@]}"
  fi
  for p in $precisions; do
    echo "precision_study: $set at $p" >&2
    "$mvtag" eval --conf conf/demo.txt --model "$model/best" --precision "$p" --json "$out/$set-$p.eval.json" \
      --log-level warn "${data[@]}" > /dev/null
    "$mvtag" infer --conf conf/demo.txt --model "$model/best" --precision "$p" --threshold 0 --format jsonl \
      --output "$out/$set-$p.jsonl" --log-level warn "${data[@]}"
  done
done

/usr/bin/python3 - "$out" "$sets" "$precisions" <<'PY'
import json, sys
out, sets, precisions = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()

def probs(path):
    rows = {}
    for line in open(path):
        v = json.loads(line)
        rows[v["video_id"]] = [p for _, p in v["labels"]]  # threshold 0: every class, in class order
    return rows

print("| data | precision | Hit@1 | Δ Hit@1 | GAP@20 | Δ GAP | max \\|Δp\\| | mean \\|Δp\\| | top-1 changed |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for s in sets:
    ev = {p: json.load(open("%s/%s-%s.eval.json" % (out, s, p))) for p in precisions}
    pr = {p: probs("%s/%s-%s.jsonl" % (out, s, p)) for p in precisions}
    base = pr["fp32"]
    for p in precisions:
        diffs = [abs(a - b) for vid in base for a, b in zip(pr[p][vid], base[vid])]
        top = lambda v: max(range(len(v)), key=v.__getitem__)
        changed = sum(top(pr[p][vid]) != top(base[vid]) for vid in base)
        h, g = ev[p]["hit_at"]["1"], ev[p]["gap"]
        print("| %s (%d videos) | %s | %.2f | %+.2f | %.4f | %+.4f | %.2e | %.2e | %d |" % (
            s, len(base), p, h, h - ev["fp32"]["hit_at"]["1"], g, g - ev["fp32"]["gap"],
            max(diffs), sum(diffs) / len(diffs), changed))
PY
