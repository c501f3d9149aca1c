#!/usr/bin/env bash
# Merged reports: bookkeeping keys (checkpoint cadence, retention, held-out evaluation cadence)
# never count as differences between runs and never enter a label; a key that changes the tasks
# (N) does, and each run keeps its own rows.
source "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1
M=$TGMM_SRC/configs/pretrained/tgmm_laptop.h5
ev() { mpi 1 "$TGMM_BIN" eval "$TGMM_SRC/configs/laptop.yaml" eval.tasks_per_setting=4 "eval.grid.K=[2,3]" \
         "eval.methods=[tgmm, em]" --checkpoint "$M" "$@" >/dev/null 2>&1; }
ev N=32 train.checkpoint_every=7 train.keep_checkpoints=1 train.eval_every=3 --out a.h5 || fail "eval a"
ev N=64 train.checkpoint_every=9 train.keep_checkpoints=5 train.eval_every=0 --out b.h5 || fail "eval b"
mpi 1 "$TGMM_BIN" report --data a.h5 --data b.h5 --out m --rows rows.csv >m.log 2>&1 || { fail "merged report"; cat m.log; }
if grep -q "N=32" m.md && grep -q "N=64" m.md && ! grep -Eq "checkpoint_every|keep_checkpoints|eval_every" m.md m.csv m.*.gp; then
  ok "labels name N, never the bookkeeping keys"
else fail "bookkeeping keys in the merged labels"; grep -E "checkpoint_every|keep_checkpoints|eval_every|N=" m.md | head -5; fi
if /usr/bin/python3 - <<'PY'
import pandas as pd
c = pd.read_csv("m.csv")
c = c[c.metric == "l2_means"]
assert len(c) == 2 * 2 * 2, len(c)        # 2 runs x 2 K x 2 methods: no pooling across runs
assert (c.n_ok + c.n_other == 4).all(), c  # every cell holds its own run's 4 tasks
PY
then ok "each run's cells hold its own tasks (no pooling)"; else fail "cells pooled across runs"; fi
finish
