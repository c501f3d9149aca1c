#!/usr/bin/env bash
# train_vs_torch.sh — training step time of the TGMM model in tgmm and in PyTorch
# (tests/bench/torch_step.py), same number of threads and the same OpenBLAS kernels (PyTorch links
# the same OpenBLAS: it gets OPENBLAS_CORETYPE = the core tgmm runs), side by side; prints both,
# the ratio, and each one's model FLOP rate as a share of this machine's cblas_sgemm rate
# (tests/tools/sgemm_rate.c at the same thread count). Two settings:
#   paper:  the paper's default model (12 layers, width 128, 4 heads, causal, learned positions),
#           d = 8, N = 128 with N_i ~ U{64..128}, 64 tasks for each K in 2..5, canonical loss;
#   laptop: configs/laptop.yaml (4 layers, width 64, 4 heads, bidirectional, no positions),
#           d = 8, N = 64 with N_i ~ U{32..64}, 16 tasks for each K, Hungarian-matched loss.
# The two programs alternate (tgmm, torch, tgmm, torch) and each one's median step is taken, so a
# background load shared by both skews the ratio little.
#
# usage: tests/bench/train_vs_torch.sh [THREADS (default 2)] [STEPS (default 4)] [paper|laptop|both]
# env:   TGMM_BUILD (default ./build), PYTHON (default /usr/bin/python3)
set -euo pipefail
THREADS=${1:-2}
STEPS=${2:-4}
WHICH=${3:-both}
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
CORE=$("$BIN" --version | sed -n 's/.*OpenBLAS core //p')
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-$CORE}
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); $(nproc --all) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "OpenBLAS core: tgmm $CORE; OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE for tgmm, sgemm_rate and PyTorch $("$PY" -c 'import torch; print(torch.__version__)')"

echo "== cblas_sgemm rate, $THREADS thread(s)"
SGEMM=$("$BUILD/sgemm_rate" "$THREADS" | tee /dev/stderr | awk '/^mean/ {print $2}')

median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
# tgmm: seconds and GFLOP of the steps after the first, appended to $TMP/c.sec, $TMP/c.gf
tgmm_run() { # config overrides...
  rm -rf "$TMP/run"
  "$BIN" train "$@" train.steps=$((STEPS + 1)) train.threads="$THREADS" train.run_dir="$TMP/run" \
    train.checkpoint_every=0 train.eval_every=0 train.resume=never >"$TMP/tgmm.out" 2>&1 || { cat "$TMP/tgmm.out"; exit 1; }
  for k in seconds gflop; do
    awk -v k="$k" '$1 == "step" && $2 > 1 {for (i = 1; i < NF; i++) if ($i == k) print $(i+1)}' \
      "$TMP/run/train.log" >>"$TMP/c.$k"
  done
}
torch_run() { # torch_step.py arguments after THREADS STEPS
  OMP_NUM_THREADS=$THREADS "$PY" "$SRC/tests/bench/torch_step.py" "$THREADS" "$STEPS" "$@" |
    awk '/torch_step_seconds/ {print $2}' >>"$TMP/t.seconds"
}
measure() { # label "tgmm config and overrides" "torch_step.py arguments"
  local label=$1 cargs=$2 targs=$3
  rm -f "$TMP"/c.* "$TMP"/t.*
  echo "== $label: tgmm and PyTorch alternating, 2 rounds of $STEPS steps (+1 warm-up) each"
  for round in 1 2; do
    # shellcheck disable=SC2086
    tgmm_run $cargs
    # shellcheck disable=SC2086
    torch_run $targs
  done
  local c t g
  c=$(median <"$TMP/c.seconds")
  g=$(median <"$TMP/c.gflop")
  t=$(median <"$TMP/t.seconds")
  awk -v c="$c" -v t="$t" -v g="$g" -v r="$SGEMM" -v th="$THREADS" -v lab="$label" 'BEGIN {
    printf "\n%s\n| %-26s | %10s | %12s | %14s |\n", lab, "threads = " th, "s / step", "GFLOP/s", "of sgemm rate"
    printf "|%s|%s|%s|%s|\n", "----------------------------", "------------", "--------------", "----------------"
    printf "| %-26s | %10.4f | %12.1f | %13.0f%% |\n", "tgmm (C, OpenBLAS)", c, g / c, 100 * g / c / r
    printf "| %-26s | %10.4f | %12.1f | %13.0f%% |\n", "PyTorch (float32, padded)", t, g / t, 100 * g / t / r
    printf "\nspeed-up tgmm vs PyTorch: %.2fx   (model: %.2f GFLOP per step; sgemm rate %.1f GFLOP/s)\n\n", t / c, g, r
  }'
}
if [[ $WHICH == paper || $WHICH == both ]]; then
  measure "paper default model (12 x 128, causal, canonical loss, N = 128, 64 tasks per K)" \
    "" "12 128 4 8 128 64 causal canonical"
fi
if [[ $WHICH == laptop || $WHICH == both ]]; then
  measure "laptop setting (configs/laptop.yaml: 4 x 64, bidirectional, hungarian loss, N = 64, 16 tasks per K)" \
    "$SRC/configs/laptop.yaml" "4 64 4 8 64 16 bidirectional hungarian"
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
