#!/usr/bin/env bash
# The main job on the embedded demo: set up (packages + build), then
#   demo data -> train -> evaluate + export -> infer
# with the same scripts a user runs on real data. Everything lands in demo_data/ and runs/demo/.
#   MVTAG_BIN=build-asan/mvtag scripts/demo.sh   # another binary, without the set-up and build
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# MVTAG_BIN: run the demo with that binary (e.g. a sanitizer build, scripts/sanitize.sh) instead of
# setting up and building build/mvtag.
if [ -n "${MVTAG_BIN:-}" ]; then
  export MVTAG="$MVTAG_BIN"
else
  "$root/scripts/setup.sh"
  export MVTAG="$root/build/mvtag"
fi
export CONF=conf/demo.txt
run="runs/demo"
start=$(date +%s)

step() { printf '\n==> %s\n' "$*" >&2; }

step "1/4 writing the demo data set (demo_data/)"
"$MVTAG" demo-data --output demo_data

step "2/4 training (conf/demo.txt)"
rm -rf "$run"
# The logs sit beside the run directory, which only `mvtag train` creates: make their folder first.
mkdir -p "$(dirname "$run")"
SAVE_DIR="$run" scripts/train.sh | tee "$run.train.txt"

step "3/4 evaluating the best checkpoint and exporting it"
MODEL="$run/best" OUTPUT="$run/inference_model" scripts/eval_and_save_model.sh --json "$run/eval.json" | tee "$run.eval.txt"

step "4/4 tagging the validation videos"
MODEL="$run/inference_model" OUTPUT="$run/output.json" scripts/inference.sh

# output.json is one line (the original's json.dump layout): count the objects, not the lines.
tagged=$(grep -o '"video_id"' "$run/output.json" | wc -l)
elapsed=$(( $(date +%s) - start ))
cat <<SUMMARY

================================ demo summary ================================
data            demo_data/ (12 classes; train.txt, val.txt, class.txt, feature_files/*.pkl)
training        $(grep 'best valid Hit@1' "$run.train.txt" | sed 's/  */ /g')
evaluation      $(grep '^Hit@1 ' "$run.eval.txt" | sed 's/  */ /g'), $(grep '^GAP@20' "$run.eval.txt" | sed 's/  */ /g' | cut -d'(' -f1), $(grep '^mAP' "$run.eval.txt" | sed 's/  */ /g')
                (chance Hit@1 is about 14%)
checkpoints     $run/best  $run/last   curve: $run/training_curve.svg
inference model $run/inference_model
tags            $run/output.json ($tagged videos)
time            ${elapsed}s (job only, after the build)
==============================================================================
SUMMARY
