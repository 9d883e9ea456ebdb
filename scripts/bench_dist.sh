#!/usr/bin/env bash
# Data-parallel training throughput: one process against `--nproc N` local ranks on the same
# cores (THREADS in all: one process with THREADS threads, or N ranks with THREADS/N each), at the
# original network's sizes with ERNIE frozen and cached, alternating runs; then the all-reduce
# cost of the gradient sizes that matter (tools/bench_allreduce.cpp). Medians at the end;
# docs/PERFORMANCE.md ("Data-parallel training") holds the results and the N-machine prediction.
#
#   scripts/bench_dist.sh                      # 2 ranks, 3 rounds, 512 videos, threads = cores
#   NPROC=2 ROUNDS=5 VIDEOS=1024 MIN_FRAMES=4 MAX_FRAMES=12 scripts/bench_dist.sh
# (the data set is written once into build/bench_dist/data; delete it after changing its knobs)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
nproc_ranks="${NPROC:-2}"
rounds="${ROUNDS:-3}"
videos="${VIDEOS:-512}"
threads="${THREADS:-$(nproc)}"
min_frames="${MIN_FRAMES:-20}"  # frames per video, as the loader benchmark
max_frames="${MAX_FRAMES:-60}"
out="$build/bench_dist"
mkdir -p "$out"
cmake --build "$build" --target mvtag mvtag_bench_allreduce >/dev/null
mvtag="$build/mvtag"
cd "$out"
[ -d data ] || "$mvtag" demo-data -o data --train "$videos" --val 64 --min-frames "$min_frames" \
  --max-frames "$max_frames" >/dev/null
sed -e 's#\./demo_data/#./data/#g' "$root/conf/demo.txt" > conf.txt
# The original's sizes (conf/conf.txt): LSTMs of 512 and 128, batch 64; two epochs, the second timed.
common=(train --conf conf.txt --set MODEL.lstm_size_img=512 --set MODEL.lstm_size_audio=128 --batch_size 64
        --epoch_num 2 --valid_interval 0 --set TRAIN.num_samples="$videos" --log-level warn)
results="$out/results.jsonl"
: > "$results"
for r in $(seq "$rounds"); do
  for mode in one ranks; do
    rm -rf run
    if [ "$mode" = one ]; then
      "$mvtag" "${common[@]}" --threads "$threads" --save_dir run >/dev/null
    else
      "$mvtag" "${common[@]}" --threads $((threads / nproc_ranks > 0 ? threads / nproc_ranks : 1)) \
        --nproc "$nproc_ranks" --save_dir run >/dev/null
    fi
    tail -n 1 run/metrics.jsonl | jq -c --arg mode "$mode" --argjson round "$r" \
      '{mode: $mode, round: $round, videos_per_second: .train.videos_per_second,
        wait_ms_per_step: (.data_parallel.allreduce_wait_ms_per_step // 0)}' | tee -a "$results" >&2
  done
done
"$build/tools/mvtag_bench_allreduce" --nproc "$nproc_ranks" --threads 1 | tee "$out/allreduce.jsonl" >&2
median() { jq -s 'sort | .[length/2|floor]'; }
one=$(jq 'select(.mode=="one") | .videos_per_second' "$results" | median)
many=$(jq 'select(.mode=="ranks") | .videos_per_second' "$results" | median)
wait_ms=$(jq 'select(.mode=="ranks") | .wait_ms_per_step' "$results" | median)
echo
echo "training, $threads threads in all, medians of $rounds rounds (epoch 2 of $videos videos, batch 64):"
printf '  1 process            %8.1f videos/s\n' "$one"
printf '  %d ranks (--nproc)    %8.1f videos/s  (%.2fx; %.1f ms per step waiting for the gradient all-reduce)\n' \
  "$nproc_ranks" "$many" "$(echo "$many / $one" | bc -l)" "$wait_ms"
echo "all-reduce over $nproc_ranks local ranks (Gloo, loopback):"
jq -r '"  \(.gradient): \(.floats) floats, median \(.median_ms|.*10|round/10) ms, bus \(.bus_GBps|.*100|round/100) GB/s"' \
  "$out/allreduce.jsonl"
