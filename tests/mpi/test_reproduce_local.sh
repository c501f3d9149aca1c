#!/usr/bin/env bash
# jobs/reproduce.sh --local: train -> eval -> merged report without Slurm; killed (SIGTERM to its
# process group) during a training and rerun, it ends with the results of an uninterrupted run
# (eval.h5 datasets but /seconds, final checkpoint parameters bitwise); --jobs 2 runs two at
# once; --dry-run creates nothing; no Slurm without --local is exit 2 naming --local; a user's
# own config with a sweep block runs unchanged; train.keep_checkpoints prunes (N remain after
# N + 3), resume after pruning gives the parameters of an unpruned run, a kill -9 leaves a
# resumable run.
source "$(dirname "$0")/lib.sh"
cd "$WORK"
R="$TGMM_SRC/jobs/reproduce.sh"
export TGMM="$TGMM_BIN"
tiny=(train.steps=24 train.checkpoint_every=4 train.eval_every=8 train.eval_tasks=4
      eval.tasks_per_setting=4 model.n_layer=2 model.n_embd=32)

# --- 1. an uninterrupted run (two runs at once) ---------------------------------------------------
"$R" sample_shift --local --scale laptop --jobs 2 --runs A "${tiny[@]}" >a.out 2>&1; rc=$?
if [[ $rc == 0 && -s A/sample_shift/N32/eval.h5 && -s A/sample_shift/N64/eval.h5 && -s A/sample_shift/report.md &&
      -s A/sample_shift/rows.csv ]]; then
  ok "local: train -> eval -> merged report for both runs, no Slurm"
else fail "local run rc=$rc"; tail -20 a.out; fi
# --jobs 2: both trainings start before either eval
first_eval=$(grep -n ': eval of' a.out | head -1 | cut -d: -f1)
trains=$(head -n "${first_eval:-0}" a.out | grep -c ': train$')
[[ $trains == 2 ]] && ok "--jobs 2: two runs at once" || { fail "--jobs 2 (trains before first eval: $trains)"; cat a.out; }
# retention: 24 steps / 4 = 6 checkpoints, 3 kept (the newest)
ls A/sample_shift/N32 | grep -c '^ckpt_' | grep -qx 3 && [[ -f A/sample_shift/N32/ckpt_00000024.h5 && -f A/sample_shift/N32/ckpt_00000016.h5 ]] &&
  ok "train.keep_checkpoints (default 3): the newest 3 of 6 remain" || { fail "retention"; ls A/sample_shift/N32; }
# a rerun does nothing but the report
"$R" sample_shift --local --scale laptop --runs A "${tiny[@]}" >a2.out 2>&1; rc=$?
[[ $rc == 0 ]] && [[ $(grep -c 'training complete' a2.out) == 2 && $(grep -c 'eval up to date' a2.out) == 2 ]] &&
  ok "rerun: complete runs are skipped" || { fail "rerun rc=$rc"; cat a2.out; }

# a run whose training config equals a complete run's (mean_shift at laptop scale trains the
# sample_shift N = 64 model) shares its model instead of training it again
"$R" mean_shift --local --scale laptop --runs A "${tiny[@]}" >a4.out 2>&1; rc=$?
[[ $rc == 0 && -s A/mean_shift/mean_shift/eval.h5 ]] && grep -q "training shared with sample_shift/N64" a4.out &&
  cmp -s A/mean_shift/mean_shift/ckpt_00000024.h5 A/sample_shift/N64/ckpt_00000024.h5 &&
  ok "the same training config (identity) shares a complete run's model" || { fail "share rc=$rc"; cat a4.out; }

# --- 2. killed during a training, rerun ----------------------------------------------------------
slow=("${tiny[@]}" train.steps=400 train.checkpoint_every=50 train.eval_every=100)
"$R" sample_shift --local --scale laptop --only N32 --runs A2 "${slow[@]}" >a3.out 2>&1 ||
  { fail "uninterrupted reference run"; tail a3.out; }
setsid "$R" sample_shift --local --scale laptop --only N32 --runs B "${slow[@]}" >b1.out 2>&1 &
pid=$!
for _ in $(seq 600); do [[ -f B/sample_shift/N32/ckpt_00000050.h5 ]] && break; sleep 0.1; done
kill -TERM -- "-$pid" 2>/dev/null
wait "$pid"; rc1=$?
ls B/sample_shift/N32/ckpt_00000400.h5 >/dev/null 2>&1 && echo "note: the training ended before the signal"
"$R" sample_shift --local --scale laptop --only N32 --runs B "${slow[@]}" >b2.out 2>&1; rc2=$?
if [[ $rc1 != 0 && $rc2 == 0 ]] && grep -q "resuming from step" b2.out; then
  ok "SIGTERM to the process group stops it (exit $rc1); the rerun resumes"
else fail "kill/rerun rc1=$rc1 rc2=$rc2"; tail -5 b1.out b2.out; fi
/usr/bin/python3 - A2/sample_shift/N32 B/sample_shift/N32 <<'PY' && ok "resumed = uninterrupted: eval.h5 (but /seconds) and final parameters bitwise" || fail "resumed run differs"
import sys, h5py, numpy as np
a, b = sys.argv[1], sys.argv[2]
for f, skip in (("eval.h5", {"seconds"}), ("ckpt_00000400.h5", set())):
    x, y = h5py.File(f"{a}/{f}", "r"), h5py.File(f"{b}/{f}", "r")
    names = []
    x.visit(lambda n: names.append(n) if isinstance(x[n], h5py.Dataset) else None)
    assert names, f
    for n in names:
        if n.split("/")[-1] in skip: continue
        u, v = x[n][()], y[n][()]
        same = np.array_equal(u, v, equal_nan=u.dtype.kind == "f")  # NaN: a metric n/a for that row
        assert u.shape == v.shape and same, f"{f}:{n} differs"
print("identical")
PY

# --- 3. dry run, no Slurm, a user's own sweep ------------------------------------------------------
mkdir dry && (cd dry && "$R" findings --local --scale laptop --dry-run --runs "$WORK/dry/runs" >../dry.out 2>&1); rc=$?
[[ $rc == 0 && -z $(ls -A dry) ]] && grep -q "^tgmm train" dry.out && grep -q "^tgmm report" dry.out &&
  ok "--dry-run of findings: the plan, nothing created" || { fail "dry rc=$rc"; tail dry.out; ls -A dry; }
"$R" rq1 --dry-run >dryp.out 2>&1 && grep -q "# estimate: checkpoints kept on disk .* GB; training .* core-hours" dryp.out &&
  ok "--dry-run (paper scale): disk and core-hours estimate" || { fail "estimate"; tail -3 dryp.out; }
if ! command -v sinfo >/dev/null || ! sinfo >/dev/null 2>&1; then
  "$R" sample_shift --runs C >c.out 2>&1; rc=$?
  [[ $rc == 2 && ! -e C ]] && grep -q -- "--local" c.out && ok "no Slurm without --local: exit 2 naming --local" ||
    { fail "no-slurm rc=$rc"; cat c.out; }
fi
cat >my.yaml <<'EOF'
d: 2
K: [2, 3]
N: 16
model: {n_embd: 16, n_layer: 1, n_head: 2, n_task_embd: 4, attention: bidirectional, positions: none}
train: {steps: 4, batch_size: 2, checkpoint_every: 2, threads: 1}
eval: {tasks_per_setting: 2, methods: [tgmm, em], grid: {K: [2, 3]}}
sweep:
  name: lr{train.lr}
  grid: {train.lr: [0.001, 0.003]}
EOF
"$R" my.yaml --local --runs U >u.out 2>&1; rc=$?
[[ $rc == 0 && -s U/my/lr0.001/eval.h5 && -s U/my/lr0.003/eval.h5 && -s U/my/report.md ]] &&
  ok "a user's own config with a sweep block runs through the local launcher" || { fail "own sweep rc=$rc"; tail u.out; }

# --- 4. train.keep_checkpoints directly ----------------------------------------------------------
base=(model.n_layer=1 model.n_embd=8 model.n_head=2 model.n_task_embd=4 N=16 d=2 "K=[2,3]"
      train.batch_size=2 train.threads=1 train.eval_every=0)
"$TGMM_BIN" train "${base[@]}" train.steps=10 train.checkpoint_every=2 train.keep_checkpoints=2 \
  train.run_dir=k1 -q >/dev/null 2>&1
[[ $(ls k1 | grep -c '^ckpt_') == 2 && -f k1/ckpt_00000010.h5 && -f k1/ckpt_00000008.h5 ]] &&
  ok "keep_checkpoints=2 after 5 checkpoints: the newest 2 remain" || { fail "keep=2"; ls k1; }
"$TGMM_BIN" train "${base[@]}" train.steps=10 train.checkpoint_every=2 train.keep_checkpoints=0 \
  train.run_dir=k0 -q >/dev/null 2>&1
[[ $(ls k0 | grep -c '^ckpt_') == 5 ]] && ok "keep_checkpoints=0 keeps all" || { fail "keep=0"; ls k0; }
"$TGMM_BIN" train "${base[@]}" train.steps=6 train.checkpoint_every=2 train.keep_checkpoints=1 \
  train.run_dir=k2 -q >/dev/null 2>&1 &&
"$TGMM_BIN" train "${base[@]}" train.steps=10 train.checkpoint_every=2 train.keep_checkpoints=2 \
  train.run_dir=k2 -q >/dev/null 2>&1
same_datasets k0/ckpt_00000010.h5 k2/ckpt_00000010.h5 >/dev/null &&
  ok "resume after pruning (keep 1, the key changed) = the unpruned run, bitwise" || fail "resume after pruning"
# kill -9 during training (checkpoints every step): what remains resumes to the same end
"$TGMM_BIN" train "${base[@]}" train.steps=400 train.checkpoint_every=1 train.keep_checkpoints=1 \
  train.run_dir=k9 -q >/dev/null 2>&1 &
p=$!
for _ in $(seq 300); do [[ $(ls k9 2>/dev/null | grep -c '^ckpt_') -ge 1 ]] && break; sleep 0.05; done
sleep 0.3; kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null
"$TGMM_BIN" train "${base[@]}" train.steps=400 train.checkpoint_every=1 train.keep_checkpoints=1 \
  train.run_dir=k9 -q >/dev/null 2>k9.err; rc=$?
"$TGMM_BIN" train "${base[@]}" train.steps=400 train.checkpoint_every=100 train.keep_checkpoints=1 \
  train.run_dir=k9ref -q >/dev/null 2>&1
[[ $rc == 0 ]] && same_datasets k9/ckpt_00000400.h5 k9ref/ckpt_00000400.h5 >/dev/null &&
  ok "kill -9 while checkpointing every step: the run resumes and ends as an uninterrupted one" ||
  { fail "kill -9 resume rc=$rc"; cat k9.err; ls k9; }
finish
