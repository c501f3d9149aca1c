#!/usr/bin/env bash
# tgmm train resume: only the keys that shape the training's trajectory must match the
# checkpoint's. One class at a time (each alone, on a resumed run that grows by one step):
#  - may change: evaluation (eval.*), report (report.*), baselines (em.*, lloyd.*, spectral.*,
#    distribute), gen (tasks, ragged), bookkeeping (cadence, retention, threads, held-out size),
#    the other backbone's keys, and train.steps (grows);
#  - refused, naming the key: model, task distribution, optimizer, seed, loss, and the data
#    source (--data is recorded as train.data: a different file, or none, is refused).
source "$(dirname "$0")/lib.sh"
TINY=(model.n_embd=32 model.n_layer=2 model.n_head=2 model.n_positions=64 N=32 d=4 K=[2,3]
      train.batch_size=4 train.lr=1e-3 train.threads=1 train.checkpoint_every=0)
steps=4
run() { # log overrides... ; sets rc
  local log="$1"; shift
  mpi 1 "$TGMM_BIN" train "${TINY[@]}" train.run_dir="$WORK/run" "$@" >"$WORK/$log" 2>&1
  rc=$?
}
run first.log train.steps=$steps
[[ $rc == 0 && -e $WORK/run/ckpt_00000004.h5 ]] || { fail "first run (rc $rc)"; cat "$WORK/first.log"; finish; }

accepted() { # class overrides... : resume one step further
  local class="$1"; shift
  steps=$((steps + 1))
  run "acc_$steps.log" train.steps=$steps "$@"
  if [[ $rc == 0 && -e $WORK/run/ckpt_$(printf %08d $steps).h5 ]] &&
     grep -q "resuming from .*ckpt_$(printf %08d $((steps - 1))).h5" "$WORK/acc_$steps.log"; then
    ok "$class may change on resume: $*"
  else fail "$class refused on resume (rc $rc): $*"; cat "$WORK/acc_$steps.log"; fi
}
accepted "evaluation keys" eval.tasks_per_setting=7 eval.iterations=[1,10] "eval.methods=[tgmm, em]" \
  "eval.grid={N: [16, 32]}" eval.chunk=3
accepted "report keys" report.error_bars=ci95
accepted "baseline keys" em.restarts=3 em.max_iter=7 lloyd.max_iter=5 spectral.restarts=2 \
  spectral.iters=3 distribute=samples
accepted "gen keys" tasks=9 ragged=true
accepted "bookkeeping keys" train.checkpoint_every=50 train.keep_checkpoints=1 train.eval_every=3 \
  train.eval_tasks=2 train.threads=2 train.resume=auto
accepted "the other backbone's keys" model.ssm_heads=16 model.conv_kernel=2
accepted "train.steps (grown) with all of them at once" eval.tasks_per_setting=5 tasks=3 em.restarts=2

refused() { # key overrides... : the message names the key, exit 2, nothing written
  local key="$1"; shift
  local before; before=$(ls "$WORK/run")
  run refused.log train.steps=$((steps + 1)) "$@"
  if [[ $rc == 2 ]] && grep -Eq "differs in ([a-z0-9_.]+, )*${key//./\\.}," "$WORK/refused.log" && [[ $(ls "$WORK/run") == "$before" ]]; then
    ok "changed $key refused: $(grep -o 'differs in [^,]*' "$WORK/refused.log")"
  else fail "changed $key (rc $rc)"; cat "$WORK/refused.log"; fi
}
refused model.n_embd model.n_embd=16
refused N N=24
refused train.weight_decay train.weight_decay=0.5
refused seed seed=3
refused train.matching train.matching=hungarian
refused model.backbone model.backbone=mamba2 model.ssm_heads=4 model.ssm_head_dim=8 \
  model.ssm_state=4 model.ssm_groups=2 model.conv_kernel=4

# ---- the data source: train --data is recorded and compared ----
mpi 1 "$TGMM_BIN" gen "${TINY[@]}" tasks=64 --out "$WORK/a.h5" >"$WORK/gen.log" 2>&1 &&
  cp "$WORK/a.h5" "$WORK/b.h5" || { fail "gen"; cat "$WORK/gen.log"; }
drun() { # log dir overrides... ; sets rc
  local log="$1"; shift
  (cd "$WORK" && mpi 1 "$TGMM_BIN" train "${TINY[@]}" train.run_dir="$WORK/drun" "$@" >"$WORK/$log" 2>&1)
  rc=$?
}
drun d1.log train.steps=2 --data a.h5
if [[ $rc == 0 ]] && grep -q "^  data: \"$WORK/a.h5\"\$" "$WORK/drun/config.yaml"; then
  ok "--data recorded as train.data (absolute) in config.yaml"
else fail "--data not recorded (rc $rc)"; cat "$WORK/d1.log"; grep -n data "$WORK/drun/config.yaml"; fi
if /usr/bin/python3 - "$WORK/drun/ckpt_00000002.h5" "$WORK/a.h5" <<'PY'
import sys, h5py
t = h5py.File(sys.argv[1], "r").attrs["config"]
t = t.decode() if isinstance(t, bytes) else str(t)
assert f"  data: \"{sys.argv[2]}\"\n" in t, t
PY
then ok "the checkpoint's config holds the data source"; else fail "data source not in the checkpoint"; fi
(cd "$WORK/drun" && mpi 1 "$TGMM_BIN" train "${TINY[@]}" train.run_dir="$WORK/drun" train.steps=3 \
  --data ../a.h5 >"$WORK/d2.log" 2>&1); rc=$?
if [[ $rc == 0 && -e $WORK/drun/ckpt_00000003.h5 ]]; then
  ok "the same file by another relative path resumes"
else fail "same data file refused (rc $rc)"; cat "$WORK/d2.log"; fi
drun d3.log train.steps=4 --data b.h5
if [[ $rc == 2 ]] && grep -q "differs in train.data," "$WORK/d3.log" && [[ ! -e $WORK/drun/ckpt_00000004.h5 ]]; then
  ok "another data file refused, naming train.data"
else fail "another data file (rc $rc)"; cat "$WORK/d3.log"; fi
drun d4.log train.steps=4
if [[ $rc == 2 ]] && grep -q "differs in train.data," "$WORK/d4.log"; then
  ok "generated tasks instead of the file refused, naming train.data"
else fail "no --data on resume (rc $rc)"; cat "$WORK/d4.log"; fi
finish
