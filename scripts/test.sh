#!/usr/bin/env bash
# The test command: set up (packages + build) and run every test with ctest.
#   scripts/test.sh                 # all tests
#   scripts/test.sh -L core         # extra arguments go to ctest (here: only the fast core tests)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build}"
"$root/scripts/setup.sh"
jobs="$(nproc 2>/dev/null || echo 2)"
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" "$@"
