#!/usr/bin/env bash
# The original's eval_and_save_model.sh on mvtag: evaluate a checkpoint on the VALID list and
# write the inference model. SAVE_ONLY=1 only writes the inference model (the original's
# commented-out --save_only line).
#   MODEL=checkpoints_save_new/best OUTPUT=inference_models_save scripts/eval_and_save_model.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mvtag="${MVTAG:-$root/build/mvtag}"
conf="${CONF:-conf/conf.txt}"
model="${MODEL:-checkpoints_save}"
output="${OUTPUT:-inference_models_save}"

args=(eval --conf "$conf" --save_model_param_dir "$model" --save_inference_model "$output")
if [ "${SAVE_ONLY:-0}" = "1" ]; then args+=(--save_only); fi
set -x
exec "$mvtag" "${args[@]}" "$@"
