#!/usr/bin/env bash
# train_vs_torch.sh — training step time of the paper's default TGMM model (12 layers, width 128,
# 4 heads, d = 8, N = 128 with N_i ~ U{64..128}, 64 tasks for each K in 2..5) in tgmm and in
# PyTorch (tests/bench/torch_step.py), same number of threads, side by side; prints both, the
# ratio, and each one's model FLOP rate as a share of this machine's cblas_sgemm rate
# (tests/tools/sgemm_rate.c at the same thread count).
#
# usage: tests/bench/train_vs_torch.sh [THREADS (default 2)] [STEPS (default 4)]
# env:   TGMM_BUILD (default ./build), PYTHON (default /usr/bin/python3)
set -euo pipefail
THREADS=${1:-2}
STEPS=${2:-4}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${TGMM_BUILD:-$SRC/build}
PY=${PYTHON:-/usr/bin/python3}
BIN=$BUILD/tgmm
for f in "$BIN" "$BUILD/sgemm_rate"; do
  [[ -x $f ]] || { echo "missing $f: cmake --build $BUILD" >&2; exit 2; }
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

echo "== cblas_sgemm rate, $THREADS thread(s)"
SGEMM=$("$BUILD/sgemm_rate" "$THREADS" | tee /dev/stderr | awk '/^mean/ {print $2}')

echo "== tgmm train: paper default model, $((STEPS + 1)) steps (the first one is warm-up)"
"$BIN" train train.steps=$((STEPS + 1)) train.threads="$THREADS" train.run_dir="$TMP/run" \
  train.checkpoint_every=0 train.resume=never >"$TMP/tgmm.out" 2>&1 || { cat "$TMP/tgmm.out"; exit 1; }
# median seconds of the steps after the first; model GFLOP of a step
field() { awk -v k="$1" 'NR > 1 {for (i = 1; i < NF; i++) if ($i == k) print $(i+1)}' "$TMP/run/train.log"; }
C_SEC=$(field seconds | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
C_GFLOP=$(field gflop | head -1)

echo "== PyTorch $("$PY" -c 'import torch; print(torch.__version__)'): same model, $THREADS thread(s)"
OMP_NUM_THREADS=$THREADS "$PY" "$SRC/tests/bench/torch_step.py" "$THREADS" "$STEPS" >"$TMP/torch.out"
T_SEC=$(awk '/torch_step_seconds/ {print $2}' "$TMP/torch.out")

awk -v c="$C_SEC" -v t="$T_SEC" -v g="$C_GFLOP" -v r="$SGEMM" -v th="$THREADS" 'BEGIN {
  printf "\n| %-26s | %10s | %12s | %14s |\n", "threads = " th, "s / step", "GFLOP/s", "of sgemm rate"
  printf "|%s|%s|%s|%s|\n", "----------------------------", "------------", "--------------", "----------------"
  printf "| %-26s | %10.3f | %12.1f | %13.0f%% |\n", "tgmm (C, OpenBLAS)", c, g / c, 100 * g / c / r
  printf "| %-26s | %10.3f | %12.1f | %13.0f%% |\n", "PyTorch (float32, padded)", t, g / t, 100 * g / t / r
  printf "\nspeed-up tgmm vs PyTorch: %.2fx   (model: %.1f GFLOP per step; sgemm rate %.1f GFLOP/s)\n", t / c, g, r
}'
