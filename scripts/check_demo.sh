#!/usr/bin/env bash
# Checks what scripts/demo.sh left behind, from its printed output (argument 1) and runs/demo/:
# a summary, an exported model, and an output.json with one entry per validation video.
# Used by .ci/run; exits non-zero naming the first thing that is wrong.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log="${1:?usage: scripts/check_demo.sh DEMO_OUTPUT_LOG}"
run="runs/demo"
fail() { echo "check_demo: $*" >&2; exit 1; }

grep -q "demo summary" "$log" || fail "no demo summary in $log"
for f in model.safetensors model.json vocab.txt class.txt inference.json; do
  [ -s "$run/inference_model/$f" ] || fail "the exported model lacks $run/inference_model/$f"
done
grep -q "^inference model $run/inference_model" "$log" || fail "the summary names no exported model"
[ -s "$run/output.json" ] || fail "$run/output.json is missing or empty"

expected=$(grep -c . demo_data/val.txt)
tagged=$(grep -o '"video_id"' "$run/output.json" | wc -l)
[ "$tagged" -eq "$expected" ] || fail "$run/output.json has $tagged videos, demo_data/val.txt has $expected"
grep -q "^tags  *$run/output.json ($expected videos)" "$log" || fail "the summary does not report $expected tagged videos"
hit1=$(grep '^training' "$log" | grep -o 'Hit@1 [0-9.]*' | head -1 || true)
[ -n "$hit1" ] || fail "the summary has no best validation Hit@1"
echo "check_demo: ok ($expected videos tagged, best valid $hit1)"
