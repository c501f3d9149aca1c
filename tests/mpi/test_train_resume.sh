#!/usr/bin/env bash
# tgmm train: checkpoints, resume, preemption and guards.
#  - a rank dies (kill -9, test hook TGMM_TEST_DIE_AT) mid-run; the resumed run's final
#    checkpoint equals an uninterrupted run's dataset by dataset (same rank count, normal mode;
#    and bitwise mode resumed on another rank count); the metrics series has each step once;
#  - SIGUSR1 to mpirun: checkpoint, exit 75; the next run resumes and finishes;
#  - a NaN injected into a gradient (TGMM_TEST_INJECT_NAN) stops the run naming step and tensor,
#    exit non-zero, the last checkpoint untouched and no newer one written;
#  - resuming with a changed key is refused naming it (exit 2); a changed train.steps is accepted.
# The kill -9 / resume checks run for both backbones (transformer, mamba2).
source "$(dirname "$0")/lib.sh"
TINY=(model.n_embd=32 model.n_layer=2 model.n_head=2 model.n_positions=64 N=32 d=4 K=[2,3]
      train.batch_size=6 train.lr=1e-3 train.threads=1 train.checkpoint_every=5 train.eval_every=5
      train.eval_tasks=3)
MAMBA2=(model.backbone=mamba2 model.ssm_heads=4 model.ssm_head_dim=8 model.ssm_state=4
        model.ssm_groups=2 model.conv_kernel=4)
run() { # ranks run_dir log overrides... ; sets rc
  local n="$1" dir="$2" log="$3"; shift 3
  mpi "$n" "$TGMM_BIN" train "${TINY[@]}" train.run_dir="$dir" "$@" >"$log" 2>&1
  rc=$?
}

# ---- kill -9 mid-run, resume, same final state: kill_resume LABEL PREFIX overrides... ----
kill_resume() {
  local label="$1" b="$2"; shift 2
  local extra=("$@")
  run 2 "$WORK/${b}full" "$WORK/${b}full.log" train.steps=20 "${extra[@]}"
  [[ $rc == 0 ]] || { fail "${label}uninterrupted run (rc $rc)"; cat "$WORK/${b}full.log"; }
  TGMM_TEST_DIE_AT=13:1 run 2 "$WORK/${b}kill" "$WORK/${b}kill1.log" train.steps=20 "${extra[@]}"
  if [[ $rc != 0 && -e $WORK/${b}kill/ckpt_00000010.h5 && ! -e $WORK/${b}kill/ckpt_00000015.h5 ]]; then
    ok "${label}rank 1 killed after step 13: job failed (rc $rc), newest checkpoint is step 10"
  else fail "${label}kill at step 13: rc $rc"; ls "$WORK/${b}kill"; fi
  run 2 "$WORK/${b}kill" "$WORK/${b}kill2.log" train.steps=20 "${extra[@]}"
  if [[ $rc == 0 ]] && grep -q "resuming from .*ckpt_00000010.h5" "$WORK/${b}kill2.log" &&
     same_datasets "$WORK/${b}full/ckpt_00000020.h5" "$WORK/${b}kill/ckpt_00000020.h5"; then
    ok "${label}resumed run ends bitwise identical to the uninterrupted one"
  else fail "${label}resume after kill (rc $rc)"; cat "$WORK/${b}kill2.log"; fi

  # Bitwise mode: killed on 3 ranks, resumed on 2 (12 chunks), equals an uninterrupted 1-rank run.
  DET=(train.deterministic=true train.chunk=1 train.steps=12)
  run 1 "$WORK/${b}dfull" "$WORK/${b}dfull.log" "${DET[@]}" "${extra[@]}"
  TGMM_TEST_DIE_AT=8:2 run 3 "$WORK/${b}dkill" "$WORK/${b}dkill1.log" "${DET[@]}" "${extra[@]}"
  run 2 "$WORK/${b}dkill" "$WORK/${b}dkill2.log" "${DET[@]}" "${extra[@]}"
  if [[ $rc == 0 ]] && same_datasets "$WORK/${b}dfull/ckpt_00000012.h5" "$WORK/${b}dkill/ckpt_00000012.h5"; then
    ok "${label}bitwise mode: killed on 3 ranks, resumed on 2 = uninterrupted on 1"
  else fail "${label}bitwise resume across rank counts (rc $rc)"; cat "$WORK/${b}dkill2.log"; fi
}
kill_resume "" ""
if /usr/bin/python3 - "$WORK/kill/metrics.h5" "$WORK/full/metrics.h5" <<'PY'
import sys, h5py, numpy as np
f, g = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
assert list(f["step"][()]) == list(range(1, 21)), f["step"][()]
assert list(f["eval/step"][()]) == [5, 10, 15, 20], f["eval/step"][()]
for k in ("loss", "loss_weights", "loss_means", "lr", "grad_norm"):
    assert np.array_equal(f[k][()], g[k][()]), k
assert f["eval/accuracy"].shape == (4, 2) and list(f["eval/K"][()]) == [2, 3]
assert np.array_equal(f["eval/l2_means"][()], g["eval/l2_means"][()])
assert np.all(f["seconds"][()] > 0) and np.all(f["tasks_per_s"][()] > 0)
print("metrics ok")
PY
then ok "metrics series: each step once, same values as the uninterrupted run"
else fail "metrics series after resume"; fi

kill_resume "mamba2: " m2_ "${MAMBA2[@]}"

# ---- SIGUSR1: checkpoint, exit 75, resume ----
timeout 300 mpirun --oversubscribe --bind-to none -np 2 "$TGMM_BIN" train "${TINY[@]}" \
  train.run_dir="$WORK/sig" train.steps=100000 train.checkpoint_every=0 train.eval_every=0 \
  >"$WORK/sig1.log" 2>&1 &
mpid=$!
for _ in $(seq 300); do grep -q "^step 3 " "$WORK/sig/train.log" 2>/dev/null && break; sleep 0.1; done
runner=$(pgrep -P "$mpid" | head -1)
kill -USR1 "${runner:-0}"
wait "$mpid"; rc=$?
ck=$(ls "$WORK/sig" | grep -c '^ckpt_.*\.h5$')
if [[ $rc == 75 && $ck == 1 ]] && grep -q "stopped by a signal" "$WORK/sig1.log"; then
  ok "SIGUSR1: one checkpoint ($(ls "$WORK/sig" | grep '^ckpt_')), exit 75"
else fail "SIGUSR1: rc $rc, $ck checkpoints"; tail -5 "$WORK/sig1.log"; fi
stopped=$(ls "$WORK/sig" | sed -n 's/^ckpt_0*\([0-9][0-9]*\)\.h5$/\1/p' | head -1)
run 2 "$WORK/sig" "$WORK/sig2.log" train.steps=$((stopped + 4)) train.checkpoint_every=0 train.eval_every=0
if [[ $rc == 0 && -e $WORK/sig/ckpt_$(printf %08d $((stopped + 4))).h5 ]] &&
   grep -q "resuming from" "$WORK/sig2.log"; then
  ok "after SIGUSR1 the next run resumes at step $stopped and finishes (train.steps changed: accepted)"
else fail "resume after SIGUSR1 (rc $rc)"; cat "$WORK/sig2.log"; fi

# ---- NaN guard ----
run 2 "$WORK/nan" "$WORK/nan1.log" train.steps=5
cp "$WORK/nan/ckpt_00000005.h5" "$WORK/nan5.h5"
TGMM_TEST_INJECT_NAN=7:1 run 2 "$WORK/nan" "$WORK/nan2.log" train.steps=20
if [[ $rc != 0 ]] && grep -q "step 7: non-finite gradient in tensor blocks\.[0-9]*\.[a-z0-9._]*" "$WORK/nan2.log" &&
   [[ $(ls "$WORK/nan" | grep -c '^ckpt_') == 1 ]] && cmp -s "$WORK/nan5.h5" "$WORK/nan/ckpt_00000005.h5"; then
  ok "NaN at step 7 caught (rc $rc): $(grep -o 'step 7: non-finite gradient in tensor [^ ]*' "$WORK/nan2.log"); checkpoint 5 intact"
else fail "NaN guard (rc $rc)"; cat "$WORK/nan2.log"; ls "$WORK/nan"; fi

# ---- config changes on resume ----
run 1 "$WORK/nan" "$WORK/cfg1.log" train.steps=20 train.lr=2e-3
if [[ $rc == 2 ]] && grep -q "differs in train.lr" "$WORK/cfg1.log"; then
  ok "changed train.lr refused (exit 2): $(grep -o 'differs in [^(]*' "$WORK/cfg1.log")"
else fail "changed key on resume (rc $rc)"; cat "$WORK/cfg1.log"; fi
run 1 "$WORK/nan" "$WORK/cfg2.log" train.steps=20 model.n_layer=3 seed=7
if [[ $rc == 2 ]] && grep -q "differs in seed, model.n_layer\|differs in model.n_layer, seed" "$WORK/cfg2.log"; then
  ok "two changed keys named: $(grep -o 'differs in [^(]*' "$WORK/cfg2.log")"
else fail "two changed keys (rc $rc)"; cat "$WORK/cfg2.log"; fi
run 3 "$WORK/nan" "$WORK/cfg3.log" train.steps=8 train.threads=2
if [[ $rc == 0 && -e $WORK/nan/ckpt_00000008.h5 ]]; then
  ok "changed train.steps/train.threads and rank count accepted"
else fail "exempt keys on resume (rc $rc)"; cat "$WORK/cfg3.log"; fi
# A checkpoint written before model.backbone existed (its config lacks the key and the mamba2
# keys): the missing keys count as their defaults, so it still resumes.
/usr/bin/python3 - "$WORK/nan/ckpt_00000008.h5" <<'PY'
import re, sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    t = f.attrs["config"]
    t = t.decode() if isinstance(t, bytes) else str(t)
    old = "\n".join(l for l in t.split("\n")
                    if not re.match(r"\s+(backbone|ssm_\w+|conv_kernel):", l))
    assert old != t and "backbone" not in old
    f.attrs["config"] = np.bytes_(old.encode())
PY
run 1 "$WORK/nan" "$WORK/cfg5.log" train.steps=9
if [[ $rc == 0 && -e $WORK/nan/ckpt_00000009.h5 ]]; then
  ok "checkpoint whose config predates model.backbone resumes"
else fail "old checkpoint without model.backbone (rc $rc)"; cat "$WORK/cfg5.log"; fi
run 1 "$WORK/nan" "$WORK/cfg4.log" train.steps=8
if [[ $rc == 0 ]] && grep -q "nothing to do" "$WORK/cfg4.log"; then ok "finished run: nothing to do"
else fail "finished run resumed (rc $rc)"; cat "$WORK/cfg4.log"; fi
finish
