#!/usr/bin/env bash
# Builds mvtag with AddressSanitizer + UndefinedBehaviorSanitizer (any UB is fatal:
# -fno-sanitize-recover=all) into build-asan/, then runs every test (ctest) and the demo under them.
#
#   scripts/sanitize.sh                 # everything: all tests, then scripts/demo.sh
#   SANITIZE_CORE_ONLY=1 scripts/sanitize.sh   # only mvtag_core and core_tests, without LibTorch
#                                       # (build-asan-core/; a few minutes: what CI runs)
#   scripts/sanitize.sh -R Pickle       # extra arguments go to ctest
#
# LibTorch and the system libraries are not instrumented. What they trigger is suppressed, narrowly
# and with the reason, in tests/sanitizers/ (see docs/ROBUSTNESS.md).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
core_only="${SANITIZE_CORE_ONLY:-0}"
if [ "$core_only" = 1 ]; then
  build_dir="${BUILD_DIR:-$root/build-asan-core}"
  extra=(-DMVTAG_CORE_ONLY=ON)
else
  build_dir="${BUILD_DIR:-$root/build-asan}"
  extra=()
fi
jobs="$(nproc 2>/dev/null || echo 2)"

# -O0: the tests spend their time in LibTorch (not instrumented) or in milliseconds of our code, and
# -O0 compiles five times faster than -O2 -g under ASan (what keeps the CI step within minutes).
cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" \
  -DMVTAG_SANITIZE=address,undefined \
  "${extra[@]}" ${CMAKE_ARGS:-} > /dev/null
nice -n 10 cmake --build "$build_dir" -j "$jobs"

supp="$root/tests/sanitizers"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:check_initialization_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$supp/ubsan.supp${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

echo "==> sanitize: ctest in $build_dir (ASan + UBSan)"
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" "$@"

if [ "$core_only" != 1 ] && [ $# -eq 0 ]; then
  echo "==> sanitize: scripts/demo.sh with $build_dir/mvtag"
  MVTAG_BIN="$build_dir/mvtag" "$root/scripts/demo.sh"
fi
echo "==> sanitize: clean"
