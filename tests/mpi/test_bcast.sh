#!/usr/bin/env bash
# Broadcasts of small inputs (config text, checkpoints, a dataset's index) go in pieces, since
# MPI counts are int: tgmm_bcast_bytes with small pieces on 3 ranks (odd sizes, a last short
# piece), and in the Release build one real broadcast of 2^31 + 17 bytes on 2 ranks (4.3 GB in
# all; skipped under ASan, whose shadow memory would double it).
source "$(dirname "$0")/lib.sh"
tool="$TGMM_BUILD/bcast_tool"
for args in "10000003 1000001" "5 1" "0 7" "4096 4096"; do
  if mpi 3 "$tool" $args >"$WORK/b.log" 2>&1 && grep -q identical "$WORK/b.log"; then
    ok "3 ranks: $(cat "$WORK/b.log")"
  else fail "3 ranks, bcast_tool $args"; cat "$WORK/b.log"; fi
done
if [[ ${TGMM_SANITIZE:-0} != 1 ]]; then
  if mpi 2 "$tool" $(( (1 << 31) + 17 )) >"$WORK/b.log" 2>&1 && grep -q identical "$WORK/b.log"; then
    ok "2 ranks: $(cat "$WORK/b.log")"
  else fail "2 ranks, 2^31 + 17 bytes"; cat "$WORK/b.log"; fi
fi
finish
