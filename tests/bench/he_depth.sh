#!/usr/bin/env bash
# he_depth.sh — the He et al. experiment at laptop scale: label-head set models (model.head =
# labels, bidirectional attention, no positions, width 64) of depth 1, 2, 4 and 8, each trained
# for STEPS steps (1 rank x 1 thread, one after the other) on configs/paper/he_misclustering.yaml's
# task family at N = 64 (d = 8, K = 2..5, mean_scale 0.5; batch 8 per K, lr 1e-3), then each
# evaluated with that config's eval section (EM and Lloyd truncated at 1, 2, 4, 8, 16, 100
# iterations, the oracle; K x mean_scale in {0.25, 0.5, 1}; TASKS tasks per setting, the same
# tasks for every depth), and the four results merged by `tgmm report`: the depth table
# (transformer depth against EM/Lloyd iterations), PREFIX.depth.png and the rate plot against
# delta (PREFIX.rate.png).
#
# usage: tests/bench/he_depth.sh [STEPS (default 12000)] [TASKS (default 64)] [DEPTHS (default "1 2 4 8")]
# env:   TGMM_BUILD (default ./build), RUNS_DIR (kept runs; default runs/he_depth)
set -euo pipefail
STEPS=${1:-12000}
TASKS=${2:-64}
DEPTHS=${3:-1 2 4 8}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${TGMM_BUILD:-$SRC/build}
BIN=$BUILD/tgmm
[[ -x $BIN ]] || { echo "missing $BIN: cmake --build $BUILD" >&2; exit 2; }
OUT=${RUNS_DIR:-runs/he_depth}
mkdir -p "$OUT"
CFG=$SRC/configs/paper/he_misclustering.yaml
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); $(nproc --all) cores"
echo "OpenBLAS core: $("$BIN" --version | sed -n 's/.*OpenBLAS core //p')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
KEYS=(N=64 model.n_embd=64 model.n_head=4 model.n_task_embd=64 train.batch_size=8 train.lr=1e-3
      train.threads=1)
files=()
for L in $DEPTHS; do
  t0=$(date +%s)
  OMP_NUM_THREADS=1 "$BIN" train "$CFG" "${KEYS[@]}" model.n_layer="$L" train.steps="$STEPS" \
    train.checkpoint_every=2000 train.eval_every=2000 train.eval_tasks=64 \
    train.run_dir="$OUT/L$L" >"$OUT/L$L.train.out" 2>&1
  t1=$(date +%s)
  "$BIN" eval "$CFG" "${KEYS[@]}" model.n_layer="$L" eval.tasks_per_setting="$TASKS" \
    --checkpoint "$OUT/L$L" --out "$OUT/L$L.h5" >"$OUT/L$L.eval.out" 2>&1
  echo "L = $L: trained $STEPS steps in $((t1 - t0)) s, evaluated in $(( $(date +%s) - t1 )) s"
  files+=(--data "$OUT/L$L.h5")
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN" report "${files[@]}" --out "$OUT/report" >"$OUT/report.out" 2>&1
awk '/^## Misclustering: transformer depth/ {p = 1} p && /^## / && !/transformer depth/ {p = 0} p' "$OUT/report.md"
echo "(runs, results and $OUT/report.{md,csv,tex,depth.png,rate.png} in $OUT)"
