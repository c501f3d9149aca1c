#!/usr/bin/env bash
# tgmm eval's memory per rank grows with the rank's share of the rows, not with the whole study:
# with 4 ranks, each rank's peak resident memory (/usr/bin/time, package `time`) grows by less
# than half the size of all rows (96 bytes a row) from 2*10^4 to 4*10^5 rows. Before, every rank
# allocated every row and a dense MPI_Reduce combined them. Release build only (sanitizer
# memory figures mean nothing): exits 77 (skipped) under ASan.
source "$(dirname "$0")/lib.sh"
[[ ${TGMM_SANITIZE:-0} == 1 ]] && { echo "skipped in the sanitizer build"; exit 77; }
[[ -x /usr/bin/time ]] || { fail "/usr/bin/time missing (jobs/setup.sh --with-tests installs time)"; finish; }
cat >"$WORK/memwrap.sh" <<'SH'
#!/bin/bash
exec /usr/bin/time -f "%M" -o "$MEMDIR/rank.$OMPI_COMM_WORLD_RANK" "$@"
SH
chmod +x "$WORK/memwrap.sh"
# 4 settings x 4 methods; cheap fits (2 iterations) so the rows, not the fits, dominate.
EV=(d=2 "K=[2]" N=8 family=mean_shift "eval.grid={sigma_p: [0, 1, 2, 3]}"
    "eval.methods=[em, oracle, lloyd, spectral]" em.max_iter=2 em.restarts=1 lloyd.max_iter=2
    spectral.restarts=1 eval.chunk=64)
declare -A peak
for tps in 1250 25000; do
  mkdir -p "$WORK/m$tps"
  if MEMDIR="$WORK/m$tps" mpi 4 -x MEMDIR "$WORK/memwrap.sh" "$TGMM_BIN" eval "${EV[@]}" \
       eval.tasks_per_setting=$tps --out "$WORK/e$tps.h5" >"$WORK/m$tps.log" 2>&1; then
    ok "eval of $((tps * 16)) rows on 4 ranks"
  else fail "eval of $((tps * 16)) rows"; cat "$WORK/m$tps.log"; finish; fi
  for r in 0 1 2 3; do peak[$tps.$r]=$(tail -1 "$WORK/m$tps/rank.$r"); done
done
limit=$(( 400000 * 96 / 2 / 1024 ))  # KiB: half the size of all rows
worst=0
for r in 0 1 2 3; do
  g=$(( peak[25000.$r] - peak[1250.$r] ))
  echo "rank $r: peak ${peak[1250.$r]} KiB at 2e4 rows, ${peak[25000.$r]} KiB at 4e5 rows: +$g KiB"
  (( g > worst )) && worst=$g
done
if (( worst < limit )); then ok "largest growth $worst KiB < $limit KiB (half the size of all 4e5 rows)"
else fail "largest growth $worst KiB >= $limit KiB"; fi
n=$(/usr/bin/python3 -c "import h5py; print(h5py.File('$WORK/e25000.h5')['setting'].shape[0])")
[[ $n == 400000 ]] && ok "400000 rows written" || fail "rows: $n"
# Many small units (eval.chunk=1, 10^5 units): units are handed out in guided fetches, so each
# rank's rows form few contiguous runs and its write selection stays small (HDF5 1.10 builds a
# selection of n separate runs in O(n^2): 20000 single-unit runs took 30 s, 10^5 would take
# many minutes). Generous limit: 120 s (about 1 s measured).
t0=$(date +%s)
if mpi 4 "$TGMM_BIN" eval d=2 "K=[2]" N=8 "eval.methods=[lloyd]" lloyd.max_iter=1 eval.chunk=1 \
     eval.tasks_per_setting=100000 --out "$WORK/many.h5" >"$WORK/many.log" 2>&1; then
  dt=$(( $(date +%s) - t0 ))
  (( dt <= 120 )) && ok "10^5 units of one task on 4 ranks in $dt s" || fail "10^5 units took $dt s"
else fail "10^5 units"; cat "$WORK/many.log"; fi
finish
