#!/usr/bin/env bash
# laptop_sweep.sh — which small setting learns fastest with the Hungarian-matched loss (d = 8,
# N = 64, K = 2..5)? Trains each setting below for MINUTES of wall time (1 rank x 1 thread, two
# settings side by side), evaluating the same 64 held-out tasks per K every 250 steps, then
# prints one line per setting (its last evaluation: l2 of means per K) with EM's, a strong EM's,
# spectral's and the oracle's levels on the same tasks (tests/bench/curves.py).
#
# usage: tests/bench/laptop_sweep.sh [MINUTES (default 5)]
# env:   TGMM_BUILD (default ./build), PYTHON (default /usr/bin/python3), SWEEP_DIR (kept runs;
#        default a temporary directory)
set -euo pipefail
MIN=${1:-5}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${TGMM_BUILD:-$SRC/build}
PY=${PYTHON:-/usr/bin/python3}
BIN=$BUILD/tgmm
[[ -x $BIN ]] || { echo "missing $BIN: cmake --build $BUILD" >&2; exit 2; }
OUT=${SWEEP_DIR:-$(mktemp -d)}
mkdir -p "$OUT"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); $(nproc --all) cores"
echo "OpenBLAS core: $("$BIN" --version | sed -n 's/.*OpenBLAS core //p')"
echo "load before the sweep: $(cut -d' ' -f1-3 /proc/loadavg)"

# label | overrides of configs/laptop.yaml
SETTINGS=(
  "bidir-4x64-lr1e-3-b16|"
  "causal+pos-4x64-lr1e-3-b16|model.attention=causal model.positions=learned"
  "bidir-4x64-lr3e-3-b16|train.lr=3e-3"
  "bidir-4x64-lr1e-3-b8|train.batch_size=8"
  "bidir-6x96-lr1e-3-b16|model.n_layer=6 model.n_embd=96"
  "bidir-4x64-lr1e-3-b32|train.batch_size=32"
)
run_one() { # label overrides...
  local label=$1; shift
  # shellcheck disable=SC2086
  timeout -s TERM "${MIN}m" "$BIN" train "$SRC/configs/laptop.yaml" train.steps=1000000 \
    train.threads=1 train.eval_every=250 train.eval_tasks=64 train.eval_baselines=true \
    train.checkpoint_every=0 train.resume=never train.run_dir="$OUT/$label" "$@" \
    >"$OUT/$label.out" 2>&1 || true
}
runs=()
for ((i = 0; i < ${#SETTINGS[@]}; i += 2)); do
  pids=()
  for j in $i $((i + 1)); do
    [[ $j -lt ${#SETTINGS[@]} ]] || continue
    label=${SETTINGS[$j]%%|*}
    over=${SETTINGS[$j]#*|}
    echo "== $label ($over) for $MIN minutes"
    # shellcheck disable=SC2086
    OMP_NUM_THREADS=1 run_one "$label" $over &
    pids+=($!)
    runs+=("$OUT/$label=$label")
  done
  wait "${pids[@]}"
done
echo "load after the sweep: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
"$PY" "$SRC/tests/bench/curves.py" sweep "${runs[@]}"
echo "(runs in $OUT)"
