#!/usr/bin/env bash
# The original's inference.sh on mvtag: tag the INFER list with an inference model and write
# output.json in the original's format.
#   MODEL=inference_models_save OUTPUT=output.json scripts/inference.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mvtag="${MVTAG:-$root/build/mvtag}"
conf="${CONF:-conf/conf.txt}"
model="${MODEL:-inference_models_save}"
output="${OUTPUT:-output.json}"
set -x
exec "$mvtag" infer --conf "$conf" --save_inference_model "$model" --output "$output" "$@"
