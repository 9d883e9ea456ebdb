#!/usr/bin/env bash
# Throughput and latency of `mvtag serve` at concurrency 1, 8 and 32, next to `mvtag infer` on the
# same model and videos (docs/PERFORMANCE.md). Needs a model and a list, by default the demo's:
#   scripts/demo.sh                # once: demo_data/ and runs/demo/inference_model
#   scripts/load_test.sh           # MODEL=... CONF=... LIST=... FEATURES=... THREADS=... REQUESTS=... to change
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${BUILD_DIR:-$root/build}"
model="${MODEL:-runs/demo/inference_model}"
conf="${CONF:-conf/demo.txt}"  # the configuration the model was trained with (for infer)
list="${LIST:-demo_data/val.txt}"
features="${FEATURES:-demo_data/feature_files/}"
threads="${THREADS:-$(nproc)}"
requests="${REQUESTS:-400}"
max_batch="${MAX_BATCH:-32}"

[ -d "$model" ] || { echo "load_test: no model at $model (run scripts/demo.sh first, or set MODEL)" >&2; exit 2; }
cmake --build "$build" --target mvtag mvtag_load_test >/dev/null

echo "model $model, list $list, $threads math threads, $(nproc) cores, max batch $max_batch"

# mvtag infer on the same videos: its own videos/s line (the forward passes, after loading).
infer_rate=$("$build/mvtag" infer --model "$model" --conf "$conf" --set "INFER.url_title_label_file=\"$list\"" \
  --set "INFER.filelist=\"$features\"" --set "INFER.batch_size=$max_batch" --threads "$threads" -o "$build/load_test_infer.json" 2>&1 |
  grep -o '[0-9.]* videos/s' | tail -1 || true)
echo "mvtag infer: ${infer_rate:-unknown}"

log="$build/load_test_serve.log"
"$build/mvtag" serve --model "$model" --port 0 --threads "$threads" --max-batch "$max_batch" --log-level warn \
  > "$build/load_test_serve.out" 2> "$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
port=""
for _ in $(seq 600); do
  port=$(grep -o 'http://[^:]*:[0-9]*' "$build/load_test_serve.out" 2>/dev/null | sed 's/.*://' || true)
  [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 0.1
done
[ -n "$port" ] || { echo "load_test: the server did not start:" >&2; cat "$log" >&2; exit 1; }

for c in 1 8 32; do
  "$build/tools/mvtag_load_test" --port "$port" --list "$list" --features "$features" -c "$c" -n "$requests"
done
curl -s "http://127.0.0.1:$port/metrics" | grep -E '^mvtag_batch_size_(sum|count)'
kill -TERM $pid
wait $pid
