#!/usr/bin/env bash
# The original's train.sh on mvtag. Every setting can be changed from the environment:
#   CONF=conf/conf.txt SAVE_DIR=checkpoints_save_new PRETRAIN=checkpoints_save_mvtag scripts/train.sh
# PRETRAIN is a model directory (e.g. the original's checkpoints_save/param after
# `mvtag import-paddle`); leave it empty to start from ERNIE alone. Extra arguments go to mvtag.
# The original trained on 2 GPUs; NPROC=2 trains with 2 data-parallel ranks (Gloo on the CPU,
# NCCL on CUDA; docs/COMPAT.md, "Data-parallel training"). The default, 1, is one process.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mvtag="${MVTAG:-$root/build/mvtag}"
conf="${CONF:-conf/conf.txt}"
save_dir="${SAVE_DIR:-checkpoints_save_new}"
pretrain="${PRETRAIN:-}"
nproc_ranks="${NPROC:-1}"

args=(train --conf "$conf" --log_interval 20 --valid_interval 1 --save_dir "$save_dir")
if [ -n "$pretrain" ]; then args+=(--pretrain "$pretrain"); fi
if [ "$nproc_ranks" -gt 1 ]; then args+=(--nproc "$nproc_ranks"); fi
set -x
exec "$mvtag" "${args[@]}" "$@"
