#!/usr/bin/env bash
# tests/bench/scaling.sh — data-parallel scaling of `tgmm train` on the paper's default model
# (12 layers x 128 wide, 4 heads, d = 8, N = 128 ragged, 64 tasks per K, K = 2..5: 256 tasks per
# step): throughput with 1 rank x 1 thread, 1 rank x 2 threads and 2 ranks x 1 thread side by
# side, the speed-ups over 1 x 1, and the share of the step spent in the gradient reduction
# (allreduce, including waiting for the slower rank); then the cost of the bitwise mode
# (train.deterministic, train.chunk = 16) on 1 and 2 ranks. Target: 2 ranks >= 1.85x one rank.
#   tests/bench/scaling.sh [STEPS]      (env TGMM_BIN, default build/tgmm; STEPS default 5,
#                                        the first step of each run is not counted)
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TGMM_BIN="${TGMM_BIN:-$here/build/tgmm}"
STEPS="${1:-5}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
core=$("$TGMM_BIN" --version | sed -n 's/.*OpenBLAS core //p')
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-$core}
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); $(nproc --all) cores"
echo "OpenBLAS core: $core; load $(cut -d' ' -f1-3 /proc/loadavg)"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tgmm-scaling.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
PAPER=(d=8 K=[2,3,4,5] N=128 model.n_embd=128 model.n_layer=12 model.n_head=4
       train.batch_size=64 train.steps="$STEPS" train.checkpoint_every=0 train.eval_every=0)

bench() { # name ranks threads overrides...
  local name="$1" n="$2" t="$3"; shift 3
  if ! mpirun --oversubscribe --bind-to none -np "$n" "$TGMM_BIN" train "${PAPER[@]}" \
      train.threads="$t" train.run_dir="$WORK/$name" "$@" >"$WORK/$name.log" 2>&1; then
    echo "run $name failed:"; tail -20 "$WORK/$name.log"; exit 1
  fi
}
stats() { # name -> "tasks_per_s seconds_per_step allreduce_share"
  /usr/bin/python3 - "$WORK/$1/metrics.h5" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
sec, comm = f["seconds"][1:], f["allreduce_seconds"][1:]
B = 256
print(f"{B / sec.mean():.2f} {sec.mean():.3f} {comm.sum() / sec.sum():.4f}")
PY
}

echo "tgmm train scaling: paper model, $STEPS steps per run (first not counted), $(nproc --all) cores"
bench r1t1 1 1
bench r1t2 1 2
bench r2t1 2 1
bench d1t1 1 1 train.deterministic=true train.chunk=16
bench d2t1 2 1 train.deterministic=true train.chunk=16
read -r base _ _ < <(stats r1t1)
printf "%-34s %10s %10s %9s %10s\n" "configuration" "tasks/s" "s/step" "speed-up" "allreduce"
row() { # label name
  read -r tps sps share < <(stats "$2")
  printf "%-34s %10.2f %10.3f %8.2fx %9.1f%%\n" "$1" "$tps" "$sps" \
    "$(echo "$tps / $base" | bc -l)" "$(echo "$share * 100" | bc -l)"
}
row "1 rank  x 1 thread" r1t1
row "1 rank  x 2 threads" r1t2
row "2 ranks x 1 thread" r2t1
row "bitwise: 1 rank  x 1 thread" d1t1
row "bitwise: 2 ranks x 1 thread" d2t1
read -r t2 _ _ < <(stats r2t1)
if (( $(echo "$t2 / $base >= 1.85" | bc -l) )); then
  echo "target met: 2 ranks = $(printf %.2f "$(echo "$t2 / $base" | bc -l)")x one rank (>= 1.85x)"
else
  echo "target missed: 2 ranks = $(printf %.2f "$(echo "$t2 / $base" | bc -l)")x one rank (< 1.85x)"
fi
