#!/usr/bin/env bash
# Every shipped config (configs/*.yaml, configs/paper/*.yaml) loads, validates and draws tasks.
source "$(dirname "$0")/lib.sh"
n=0
for f in "$TGMM_SRC"/configs/*.yaml "$TGMM_SRC"/configs/paper/*.yaml; do
  n=$((n + 1))
  if "$TGMM_BIN" gen "$f" tasks=3 --out "$WORK/x.h5" >"$WORK/log" 2>&1; then ok "$(basename "$f")"; else fail "$f"; cat "$WORK/log"; fi
done
((n >= 7)) || fail "only $n configs found"
finish
