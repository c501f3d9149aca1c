#!/usr/bin/env bash
# time_to_em.sh — how long until a trained TGMM estimates mixtures better than EM? Trains the
# laptop setting (configs/laptop.yaml) with the Hungarian-matched loss and with the paper's
# canonical-order loss side by side (1 rank x 1 thread each) for MINUTES of wall time,
# evaluating the same 64 held-out tasks per K every EVAL_EVERY steps (train.eval_every), and
# prints: minutes, steps and l2 of means per K for both; EM's (the paper's: random start, one
# run), a strong EM's (k-means++ start, 10 restarts), spectral's and the oracle's levels on the
# same tasks (train.eval_baselines); and the first minute and step at which each run's l2 of
# means is below the paper's EM for every K >= 3.
#
# usage: tests/bench/time_to_em.sh [MINUTES (default 10)] [EVAL_EVERY (default 500)]
# env:   TGMM_BUILD (default ./build), PYTHON (default /usr/bin/python3), RUNS_DIR (kept runs;
#        default a temporary directory)
set -euo pipefail
MIN=${1:-10}
EVERY=${2:-500}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${TGMM_BUILD:-$SRC/build}
PY=${PYTHON:-/usr/bin/python3}
BIN=$BUILD/tgmm
[[ -x $BIN ]] || { echo "missing $BIN: cmake --build $BUILD" >&2; exit 2; }
OUT=${RUNS_DIR:-$(mktemp -d)}
mkdir -p "$OUT"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); $(nproc --all) cores"
echo "OpenBLAS core: $("$BIN" --version | sed -n 's/.*OpenBLAS core //p')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for m in hungarian canonical; do
  echo "== train.matching=$m, $MIN minutes, 1 thread"
  OMP_NUM_THREADS=1 timeout -s TERM "${MIN}m" "$BIN" train "$SRC/configs/laptop.yaml" \
    train.matching=$m train.steps=10000000 train.threads=1 train.eval_every="$EVERY" \
    train.eval_tasks=64 train.eval_baselines=true train.checkpoint_every=0 train.resume=never \
    train.run_dir="$OUT/$m" >"$OUT/$m.out" 2>&1 &
done
wait || true
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
"$PY" "$SRC/tests/bench/curves.py" table "$OUT/hungarian=hungarian" "$OUT/canonical=canonical"
echo "(runs in $OUT)"
