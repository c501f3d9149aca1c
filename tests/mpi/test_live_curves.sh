#!/usr/bin/env bash
# Live learning curves: metrics.h5 is rewritten at every held-out evaluation (not only at
# checkpoints), so `tgmm report --data RUN_DIR` works while the run trains and before its first
# checkpoint; the series then grows between two reports of the same live run; a run stopped by
# a signal and resumed holds every evaluation step once (rows past the checkpoint dropped).
source "$(dirname "$0")/lib.sh"
TINY=(model.n_embd=16 model.n_layer=1 model.n_head=2 model.n_positions=32 N=32 d=4 K=[2,3]
      train.batch_size=4 train.threads=1 train.eval_every=5 train.eval_tasks=2
      train.eval_baselines=true)
RUN=$WORK/live
"$TGMM_BIN" train "${TINY[@]}" train.steps=1000000 train.checkpoint_every=0 \
  train.run_dir="$RUN" >"$WORK/train.log" 2>&1 &
PID=$!

# metrics.h5 appears after the first evaluation (step 5), long before any checkpoint.
for _ in $(seq 1 300); do [[ -e $RUN/metrics.h5 ]] && break; sleep 0.1; done
nck() { find "$RUN" -name 'ckpt_*.h5' | wc -l; }
if [[ -e $RUN/metrics.h5 ]] && kill -0 $PID 2>/dev/null && (($(nck) == 0)); then
  ok "metrics.h5 written at the first held-out evaluation, with no checkpoint yet"
else fail "no metrics.h5 during the run (alive: $(kill -0 $PID 2>/dev/null && echo yes || echo no))"
  cat "$WORK/train.log"; fi

nevals() { /usr/bin/python3 -c 'import h5py,sys; print(len(h5py.File(sys.argv[1],"r")["eval/step"]))' "$1"; }
"$TGMM_BIN" report --data "$RUN" --out "$WORK/r1" >"$WORK/r1.log" 2>&1; rc1=$?
n1=$(nevals "$RUN/metrics.h5" 2>/dev/null || echo 0)
sleep 2
"$TGMM_BIN" report --data "$RUN" --out "$WORK/r2" >"$WORK/r2.log" 2>&1; rc2=$?
n2=$(nevals "$RUN/metrics.h5" 2>/dev/null || echo 0)
if [[ $rc1 == 0 && $rc2 == 0 && -s $WORK/r1.heldout.png && -s $WORK/r2.heldout.png ]] &&
   kill -0 $PID 2>/dev/null && ((n2 > n1 && n1 >= 1)); then
  ok "report --data RUN_DIR on the live run twice: curves drawn, evaluations $n1 -> $n2"
else fail "live report: rc $rc1/$rc2, evaluations $n1 -> $n2"; cat "$WORK/r1.log" "$WORK/r2.log"; fi
if grep -q "title 'EM, K = 2'" "$WORK/r2.heldout.gp" 2>/dev/null && grep -q "title 'spectral, K = 3'" "$WORK/r2.heldout.gp"; then
  ok "the live curves carry the baselines' levels"
else fail "no baseline level in the live held-out plot"; fi

# Stop by SIGTERM (checkpoint, exit 75), resume for a few steps: each evaluation step once.
kill -TERM $PID; wait $PID; rc=$?
ck=$(find "$RUN" -name 'ckpt_*.h5' | sort | tail -1)
step=$(basename "$ck" .h5); step=$((10#${step#ckpt_}))
target=$(( (step / 5 + 3) * 5 ))
"$TGMM_BIN" train "${TINY[@]}" train.steps=$target train.checkpoint_every=0 \
  train.run_dir="$RUN" >"$WORK/resume.log" 2>&1; rc2=$?
if [[ $rc == 75 && $rc2 == 0 ]] && /usr/bin/python3 - "$RUN/metrics.h5" "$target" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r"); target = int(sys.argv[2])
es, st = f["eval/step"][()], f["step"][()]
assert len(np.unique(es)) == len(es), f"evaluation steps repeated: {es}"
assert np.array_equal(es, np.arange(5, target + 1, 5)), f"evaluation steps {es}"
assert np.array_equal(st, np.arange(1, target + 1)), "step rows not 1..target once each"
print(f"{len(es)} evaluations, {len(st)} steps, each once")
PY
then ok "stopped at step $step (exit 75), resumed to $target: every step and evaluation once"
else fail "resume after live writes: rc $rc/$rc2"; cat "$WORK/resume.log"; fi
finish
