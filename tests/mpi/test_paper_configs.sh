#!/usr/bin/env bash
# Every experiment config of configs/paper runs end to end at toy scale: train 2 steps of a tiny
# model, then eval on 2 tasks per setting of its grid (so each grid fits the model it trains:
# same d, a read-out for every K or pt.a, N within the positions) and report.
source "$(dirname "$0")/lib.sh"
tiny=(model.n_layer=1 model.n_embd=16 model.n_head=2 model.n_task_embd=8 train.steps=2
      train.batch_size=2 train.checkpoint_every=0 train.eval_every=0 train.resume=never
      eval.tasks_per_setting=2 eval.chunk=2)
for cfg in "$TGMM_SRC"/configs/paper/*.yaml; do
  name=$(basename "$cfg" .yaml)
  extra=()
  [[ $name == rq1_grid ]] && extra=(d=2 N=32)   # one of the (d, N) cells reproduce.sh trains
  if ! mpi 2 "$TGMM_BIN" train "$cfg" "${tiny[@]}" "${extra[@]}" train.run_dir="$WORK/$name" >"$WORK/$name.train" 2>&1; then
    fail "$name: train"; tail -5 "$WORK/$name.train"; continue
  fi
  if ! mpi 2 "$TGMM_BIN" eval "$cfg" "${tiny[@]}" "${extra[@]}" --checkpoint "$WORK/$name" --out "$WORK/$name.h5" >"$WORK/$name.eval" 2>&1; then
    fail "$name: eval"; tail -5 "$WORK/$name.eval"; continue
  fi
  if "$TGMM_BIN" report --data "$WORK/$name.h5" --out "$WORK/$name" >/dev/null 2>&1 && [[ -s $WORK/$name.csv ]]; then
    ok "$name: train, eval ($(grep -c '^| ' "$WORK/$name.md") table rows), report"
  else
    fail "$name: report"
  fi
done
finish
