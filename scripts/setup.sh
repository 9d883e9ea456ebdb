#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian 12 machine: installs what is missing, then configures
# and builds mvtag (Release) into build/. Safe to run again; a second run only rebuilds.
#
#   scripts/setup.sh                 # packages + build
#   BUILD_DIR=out scripts/setup.sh   # another build folder
#   CMAKE_ARGS="-DCMAKE_PREFIX_PATH=/opt/libtorch" scripts/setup.sh   # an official LibTorch
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build}"

packages=(
  cmake g++ make pkg-config ccache
  libtorch-dev            # LibTorch 1.13 (CPU)
  libgloo-dev             # the Gloo headers LibTorch's c10d includes: data-parallel training
  libopenblas0-openmp     # fast BLAS for LibTorch; without it the reference BLAS is ~10x slower
  libeigen3-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libgtest-dev libutf8proc-dev
  zlib1g-dev              # CRC-32 of the ZIP entries torch.save writes
  libcpp-httplib-dev      # HTTP server for `mvtag serve`
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine may have empty package lists.
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi

blas="$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)"
case "$blas" in
  *openblas*) ;;
  *) echo "setup: warning: libblas.so.3 resolves to '${blas:-nothing}', not OpenBLAS;" \
          "LibTorch matrix products will be slow (update-alternatives --config libblas.so.3-x86_64-linux-gnu)" >&2 ;;
esac

jobs="$(nproc 2>/dev/null || echo 2)"
# shellcheck disable=SC2086
cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-}
cmake --build "$build_dir" -j "$jobs"
echo "setup: built $build_dir/mvtag"
