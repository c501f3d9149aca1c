#!/usr/bin/env bash
# mamba2_vs_torch.sh — training step time of TGMM with the Mamba2 backbone (model.backbone =
# mamba2, the authors' setting: 12 layers x 128 wide, 8 heads of width 64, state 16, 2 groups,
# conv kernel 4; d = 8, N = 128 with N_i ~ U{64..128}, 64 tasks for each K in 2..5) in tgmm and
# in PyTorch (tests/bench/mamba2_torch_step.py: a padded batch, the scan vectorised over tasks and
# heads as Hugging Face's torch_forward computes it), same number of threads and the same
# OpenBLAS kernels (OPENBLAS_CORETYPE = the core tgmm runs, for both), side by side; and beside
# them tgmm's transformer at the same width and depth (the paper's default model). The programs
# alternate (tgmm, torch, tgmm, torch) and each one's median step is taken, so a background load
# shared by both skews the ratio little; the load is printed before and after.
#
# usage: tests/bench/mamba2_vs_torch.sh [THREADS (default 2)] [STEPS (default 3)]
# env:   TGMM_BUILD (default ./build), PYTHON (default /usr/bin/python3)
set -euo pipefail
THREADS=${1:-2}
STEPS=${2:-3}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${TGMM_BUILD:-$SRC/build}
PY=${PYTHON:-/usr/bin/python3}
BIN=$BUILD/tgmm
[[ -x $BIN ]] || { echo "missing $BIN: cmake --build $BUILD" >&2; exit 2; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
CORE=$("$BIN" --version | sed -n 's/.*OpenBLAS core //p')
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-$CORE}
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') (family $(grep -m1 '^cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' ') model $(grep -m1 '^model\s' /proc/cpuinfo | cut -d: -f2 | tr -d ' '); $(grep -m1 '^flags' /proc/cpuinfo | grep -o -w 'avx512f\|amx_tile\|avx512_fp16' | tr '\n' ' ')); $(nproc --all) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "OpenBLAS core: tgmm $CORE; OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE for tgmm and PyTorch $("$PY" -c 'import torch; print(torch.__version__)')"
echo "(side by side on a shared machine: other jobs' load slows both programs alike)"

PAPER=(d=8 K=[2,3,4,5] N=128 model.n_embd=128 model.n_layer=12 model.n_task_embd=128
       train.batch_size=64)
MAMBA2=(model.backbone=mamba2 model.ssm_heads=8 model.ssm_head_dim=64 model.ssm_state=16
        model.ssm_groups=2 model.conv_kernel=4)
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
tgmm_run() { # name overrides... : seconds and GFLOP of the steps after the first -> $TMP/name.*
  local name=$1; shift
  rm -rf "$TMP/run"
  "$BIN" train "${PAPER[@]}" "$@" train.steps=$((STEPS + 1)) train.threads="$THREADS" \
    train.run_dir="$TMP/run" train.checkpoint_every=0 train.eval_every=0 train.resume=never \
    >"$TMP/tgmm.out" 2>&1 || { cat "$TMP/tgmm.out"; exit 1; }
  for k in seconds gflop; do
    awk -v k="$k" '$1 == "step" && $2 > 1 {for (i = 1; i < NF; i++) if ($i == k) print $(i+1)}' \
      "$TMP/run/train.log" >>"$TMP/$name.$k"
  done
}
torch_run() {
  OMP_NUM_THREADS=$THREADS "$PY" "$SRC/tests/bench/mamba2_torch_step.py" "$THREADS" "$STEPS" \
    12 128 8 128 8 64 16 2 4 | awk '/torch_step_seconds/ {print $2}' >>"$TMP/torch.seconds"
}

echo "== Mamba2, 12 x 128: tgmm and PyTorch alternating, 2 rounds of $STEPS steps (+1 warm-up) each"
for round in 1 2; do
  tgmm_run mamba2 "${MAMBA2[@]}"
  torch_run
done
echo "== transformer, 12 x 128 (4 heads, causal, learned positions): tgmm, $STEPS steps (+1 warm-up)"
tgmm_run transformer

m=$(median <"$TMP/mamba2.seconds"); mg=$(median <"$TMP/mamba2.gflop")
t=$(median <"$TMP/torch.seconds")
c=$(median <"$TMP/transformer.seconds"); cg=$(median <"$TMP/transformer.gflop")
awk -v m="$m" -v mg="$mg" -v t="$t" -v c="$c" -v cg="$cg" -v th="$THREADS" 'BEGIN {
  printf "\n| %-38s | %10s | %14s |\n", "12 x 128, 256 tasks, threads = " th, "s / step", "model GFLOP/s"
  printf "|%s|%s|%s|\n", "----------------------------------------", "------------", "----------------"
  printf "| %-38s | %10.3f | %14.1f |\n", "tgmm, mamba2 (C, OpenBLAS)", m, mg / m
  printf "| %-38s | %10.3f | %14.1f |\n", "PyTorch, mamba2 (float32, padded)", t, mg / t
  printf "| %-38s | %10.3f | %14.1f |\n", "tgmm, transformer (same width, depth)", c, cg / c
  printf "\nspeed-up tgmm vs PyTorch (mamba2): %.2fx; tgmm mamba2 / transformer step time: %.2f\n", t / m, m / c
  printf "(model GFLOP per step: mamba2 %.1f, transformer %.1f; PyTorch is given mamba2%s GFLOP count)\n", mg, cg, "\047s"
}'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
