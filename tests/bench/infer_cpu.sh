#!/usr/bin/env bash
# infer_cpu.sh — CPU milliseconds per task of TGMM inference at the laptop model's shape
# (tests/tools/infer_time.c: d = 8, 4 layers x 64, 4 heads, bidirectional, one thread, eval.chunk
# tasks per forward, random weights: the cost does not depend on them), for one or two builds
# side by side: the rounds interleave the builds, and each figure is the least over rounds (each
# already the least over REPS calls). CPU time of the process, not wall time: on a shared machine
# time slicing does not count (cache sharing with the other programs still does).
#
# usage: tests/bench/infer_cpu.sh [ROUNDS (default 5)] [BUILD ... (default ./build)]
# env:   NS (default "64 128"), CHUNK (default 16), REPS (default 200)
set -euo pipefail
ROUNDS=${1:-5}
shift || true
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILDS=("$@")
[[ ${#BUILDS[@]} -gt 0 ]] || BUILDS=("$SRC/build")
NS=${NS:-64 128}
CHUNK=${CHUNK:-16}
REPS=${REPS:-200}
for b in "${BUILDS[@]}"; do
  [[ -x $b/infer_time ]] || { echo "missing $b/infer_time: cmake --build $b" >&2; exit 2; }
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); $(nproc --all) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
  for n in $NS; do
    for i in "${!BUILDS[@]}"; do
      OPENBLAS_NUM_THREADS=1 "${BUILDS[$i]}/infer_time" "$n" "$CHUNK" "$REPS" |
        sed -n 's/^infer_cpu_ms_per_task=\([0-9.]*\).*/\1/p' >>"$TMP/$i.$n"
    done
  done
done
printf '\n| build (least of %d rounds; eval.chunk %d) |' "$ROUNDS" "$CHUNK"
for n in $NS; do printf ' CPU ms / task, N = %s |' "$n"; done
printf '\n|---|'
for n in $NS; do printf -- '---|'; done
echo
for i in "${!BUILDS[@]}"; do
  printf '| %s |' "${BUILDS[$i]}"
  for n in $NS; do printf ' %s |' "$(sort -g "$TMP/$i.$n" | head -1)"; done
  echo
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
