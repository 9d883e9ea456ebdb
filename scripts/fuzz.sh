#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/; clang, ASan + UBSan, no LibTorch) into build-fuzz/
# and runs each one for SECONDS (default 60), one after another, then prints a summary:
# executions per second, coverage reached (libFuzzer's cov: edges and ft: features) and findings.
#
#   scripts/fuzz.sh              # every target, 60 s each
#   scripts/fuzz.sh 600          # the robustness run of docs/ROBUSTNESS.md
#   FUZZ_TARGETS="fuzz_zip fuzz_vocab" scripts/fuzz.sh 30
#
# Each target starts from its committed seeds (tests/fuzz/corpus/<target>/, made by
# tests/fuzz/make_corpus.py) plus what earlier runs found (build-fuzz/corpus/<target>/). An input
# above 2 GiB of RSS or one allocation above FUZZ_MALLOC_MB (default 256) MiB is a finding, as are
# crashes, sanitizer reports, leaks and inputs slower than 10 s. Findings land in
# build-fuzz/artifacts/<target>/; logs in build-fuzz/logs/; the summary in build-fuzz/summary.txt.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
malloc_mb="${FUZZ_MALLOC_MB:-256}"
all_targets=(fuzz_pickle fuzz_safetensors fuzz_zip fuzz_paddle_tensor fuzz_conf
             fuzz_list_file fuzz_class_map fuzz_vocab fuzz_json_config fuzz_feature_pack)
read -r -a targets <<< "${FUZZ_TARGETS:-${all_targets[*]}}"

mkdir -p "$build"
cmake -S "$root" -B "$build" -DMVTAG_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo > "$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
nice -n 10 cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" --target "${targets[@]}"

mkdir -p "$build/logs"
summary="$build/summary.txt"
{
  echo "fuzz run of $(date -u +%Y-%m-%dT%H:%MZ), ${seconds} s per target, commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
  printf '%-20s %10s %8s %12s %8s %8s %8s  %s\n' target seconds exec/s executions cov ft corpus findings
} > "$summary"
status=0
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t" "$build/artifacts/$t"
  log="$build/logs/$t.log"
  echo "==> fuzz: $t for ${seconds}s (log: $log)"
  start=$(date +%s)
  rc=0
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" \
    nice -n 19 "$build/tests/fuzz/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb="$malloc_mb" \
    -timeout=10 -print_final_stats=1 -artifact_prefix="$build/artifacts/$t/" \
    "$build/corpus/$t" "$root/tests/fuzz/corpus/$t" > "$log" 2>&1 || rc=$?
  elapsed=$(( $(date +%s) - start ))
  last="$(grep -E '^#[0-9]+' "$log" | tail -1 || true)"
  cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$last")"
  ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")"
  corp="$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<< "$last")"
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")"
  findings=()
  for f in "$build/artifacts/$t"/{crash,leak,oom,timeout}-*; do
    [ -e "$f" ] && findings+=("$(basename "$f")")
  done
  if ((rc != 0)) && ((${#findings[@]} == 0)); then findings+=("exit $rc, see $log"); fi
  ((${#findings[@]})) && status=1
  printf '%-20s %10s %8s %12s %8s %8s %8s  %s\n' "$t" "$elapsed" "${rate:-?}" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
    "${corp:-?}" "${findings[*]:-none}" >> "$summary"
done
echo
cat "$summary"
exit "$status"
