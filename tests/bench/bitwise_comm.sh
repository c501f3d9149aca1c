#!/usr/bin/env bash
# tests/bench/bitwise_comm.sh — the bitwise mode's communication against the rank count P, and
# its distance from the former sum.
#   tests/bench/bitwise_comm.sh [EMBD] [LAYERS]   (env TGMM_BIN, default build/tgmm; 64 x 2)
# Bitwise mode (train.deterministic, chunk 1, 16 chunks a step) on P = 1, 2, 4, 8 ranks
# (oversubscribed), with today's exact fixed-point sum (one MPI_Allreduce of int64) and with the
# former chain (TGMM_BENCH_CHAIN_SUM=1: double sums passed rank to rank, then a broadcast).
#  - messages and bytes sent per rank per step: Open MPI's pml monitoring counts every
#    point-to-point message, those collectives generate included, per rank; two runs of 3 and 6
#    steps are subtracted, so set-up and the final checkpoint cancel out; the table shows the
#    largest rank's figure (the chain's last rank also broadcasts);
#  - seconds per step in the gradient sum (train.log's allreduce column, mean of steps 2..6; on a
#    2-core machine with 8 oversubscribed ranks only indicative);
#  - distance from the chain: the summed gradient of step 1 (train.save_grads) and the parameters
#    after 20 steps, per tensor max |a - b| / max |a|, and the share of bitwise-equal values.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TGMM_BIN="${TGMM_BIN:-$here/build/tgmm}"
EMBD="${1:-64}" LAYERS="${2:-2}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tgmm-bitwise.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
CFG=(d=4 "K=[2,3]" N=32 model.n_embd="$EMBD" model.n_layer="$LAYERS" model.n_head=2
     model.n_positions=64 train.batch_size=8 train.deterministic=true train.chunk=1 train.threads=1
     train.checkpoint_every=0 train.eval_every=0 train.resume=never train.lr=1e-3)

run() { # name P chain steps [overrides...]
  local name="$1" p="$2" chain="$3" steps="$4"; shift 4
  mkdir -p "$WORK/$name.mon"
  if ! TGMM_BENCH_CHAIN_SUM=$chain mpirun --oversubscribe --bind-to none -np "$p" -x TGMM_BENCH_CHAIN_SUM \
      --mca pml_monitoring_enable 2 --mca pml_monitoring_enable_output 3 \
      --mca pml_monitoring_filename "$WORK/$name.mon/prof" \
      "$TGMM_BIN" train "${CFG[@]}" train.steps="$steps" train.run_dir="$WORK/$name" "$@" \
      >"$WORK/$name.log" 2>&1; then
    echo "run $name failed:"; tail -20 "$WORK/$name.log"; exit 1
  fi
}
# per step, the largest over ranks of messages and of bytes sent (point-to-point lines, internal
# and external): run b (6 steps) minus run a (3 steps), divided by 3
per_step() {
  awk 'FNR == 1 { run = (FILENAME ~ /\.b\.mon\//) ? 1 : -1 }
       /^[IE]\t/ { b[$2] += run * $4; m[$2] += run * $6 }
       END { mm = 0; bb = 0; for (r in b) { if (m[r] > mm) mm = m[r]; if (b[r] > bb) bb = b[r] }
             printf "%.1f %.0f\n", mm / 3, bb / 3 }' "$1".a.mon/prof.*.prof "$1".b.mon/prof.*.prof
}
sum_seconds() { /usr/bin/python3 - "$1/metrics.h5" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
print("%.4f" % f["allreduce_seconds"][1:].mean())
PY
}
nparams=""
printf "| P | sum | messages / rank / step | bytes / rank / step | seconds in the sum / step |\n|---|---|---|---|---|\n"
for p in 1 2 4 8; do
  for chain in 0 1; do
    tag=p$p.c$chain
    run $tag.a "$p" "$chain" 3
    run $tag.b "$p" "$chain" 6
    read -r msgs bytes <<<"$(per_step "$WORK/$tag")"
    name=$([[ $chain == 1 ]] && echo "chain (former)" || echo "fixed point + Allreduce")
    printf "| %d | %s | %s | %s | %s |\n" "$p" "$name" "$msgs" "$bytes" "$(sum_seconds "$WORK/$tag.b")"
  done
done
nparams=$(grep -o "[0-9]* parameters" "$WORK/p1.c0.b.log" | head -1)
echo
echo "model: ${nparams:-?} (float32: 4 bytes each; the sum sends int64 / double: 8 bytes each)"
run g.fixed 1 0 1 train.save_grads=true
run g.chain 1 1 1 train.save_grads=true
run w.fixed 1 0 20
run w.chain 1 1 20
/usr/bin/python3 - "$WORK"/g.fixed/ckpt_00000001.h5 "$WORK"/g.chain/ckpt_00000001.h5 \
  "$WORK"/w.fixed/ckpt_00000020.h5 "$WORK"/w.chain/ckpt_00000020.h5 <<'PY'
import sys, h5py, numpy as np
def dist(pa, pb, group):
    a, b = h5py.File(pa, "r")[group], h5py.File(pb, "r")[group]
    worst, eq, n = 0.0, 0, 0
    for k in a:
        x, y = a[k][()].astype(np.float64), b[k][()].astype(np.float64)
        top = np.abs(x).max()
        if top > 0:
            worst = max(worst, np.abs(x - y).max() / top)
        eq += int((a[k][()] == b[k][()]).sum()); n += x.size
    return worst, eq / n
w, e = dist(sys.argv[1], sys.argv[2], "grads")
print(f"step-1 gradient, fixed point vs chain: largest per-tensor max|diff|/max|value| {w:.3g}, bitwise equal {100 * e:.2f}%")
w, e = dist(sys.argv[3], sys.argv[4], "params")
print(f"parameters after 20 steps: largest per-tensor max|diff|/max|value| {w:.3g}, bitwise equal {100 * e:.2f}%")
PY
