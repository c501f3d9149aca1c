#!/usr/bin/env bash
# The label head (model.head = labels | both) end to end:
#  - it learns (Release build only): 2 ranks, fixed seeds, the quickstart config with
#    model.head=labels, bidirectional attention, no positions, 2 layers of width 32, batch 16,
#    lr 1e-3, K = [2, 3]: after 600 steps the mean misclustering of its own labels on 64 eval
#    tasks per K is under half that of the same model after 1 step;
#  - training: held-out misclustering of the labels (metrics.h5 /eval/misclustering, learning
#    curves of `report --data RUN_DIR`); a metrics file without that column still resumes;
#  - eval of a labels model: tgmm rows ok, misclustering from the labels, accuracy = 1 -
#    misclustering, l2_means / l2_weights / loglik NaN, shown as n/a by the summary and report
#    (never 0); /pred_labels int32 [R, N] holds labels in 0..K-1 in the tgmm rows, -1 elsewhere;
#  - model.head = both: eval adds tgmm_plugin (the mixture's plug-in labels, with parameter
#    metrics) beside tgmm; tgmm_plugin listed for a labels model is refused (exit 2);
#  - training a label head from a dataset without /z is refused (exit 2);
#  - the Mamba2 backbone with a label head trains and evaluates.
source "$(dirname "$0")/lib.sh"
CFG="$TGMM_SRC/configs/quickstart.yaml"
LAB=(model.head=labels model.attention=bidirectional model.positions=none model.n_layer=2
     model.n_embd=32 train.batch_size=16 train.lr=1e-3 "K=[2,3]" train.threads=1)
EV=("K=[2,3]" "eval.grid.K=[2,3]" eval.tasks_per_setting=64)
run() { # name ranks cmd... : exit code in $rc, output in $WORK/name.log
  local name="$1" n="$2"; shift 2
  mpi "$n" "$TGMM_BIN" "$@" >"$WORK/$name.log" 2>&1
  rc=$?
}
need() { [[ $rc == 0 ]] || { fail "$1 (rc $rc)"; cat "$WORK/$2.log"; }; }
mean_mis() { /usr/bin/python3 - "$1" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
m = np.array([s.decode() for s in f["method"][()]])
print(f["misclustering"][()][m == "tgmm"].mean())
PY
}

# ---- learning (Release only: the sanitizer build is too slow for 600 steps) ----
if [[ ${TGMM_SANITIZE:-0} != 1 ]]; then
  for steps in 1 600; do
    run "t$steps" 2 train "$CFG" "${LAB[@]}" train.steps=$steps train.checkpoint_every=0 \
      train.run_dir="$WORK/t$steps"
    need "train $steps steps" "t$steps"
    run "e$steps" 2 eval "$CFG" "${EV[@]}" "eval.methods=[tgmm]" --checkpoint "$WORK/t$steps" \
      --out "$WORK/e$steps.h5"
    need "eval after $steps steps" "e$steps"
  done
  m1=$(mean_mis "$WORK/e1.h5"); m600=$(mean_mis "$WORK/e600.h5")
  /usr/bin/python3 -c "import sys; sys.exit(0 if float('$m600') < 0.5 * float('$m1') else 1)" &&
    ok "labels learn: misclustering $m1 after 1 step, $m600 after 600 (64 tasks per K)" ||
    fail "labels do not learn: misclustering $m1 after 1 step, $m600 after 600"
else
  echo "skipped in the sanitizer build: the 600-step learning check"
fi

# ---- eval of a labels model; its held-out misclustering and learning curves ----
run tl 2 train "$CFG" "${LAB[@]}" train.steps=20 train.checkpoint_every=10 train.eval_every=10 \
  train.eval_tasks=8 train.eval_baselines=true train.run_dir="$WORK/tl"
need "train labels" tl
"$TGMM_BIN" report --data "$WORK/tl" --out "$WORK/cv" >"$WORK/cv.log" 2>&1
rc=$?
[[ $rc == 0 && -s $WORK/cv.heldout.png ]] && grep -q "held-out misclustering rate after 20 steps" "$WORK/cv.log" &&
  grep -q "misclustering_K2" "$WORK/cv.heldout.dat" && grep -q "label cross-entropy" "$WORK/cv.loss.gp" &&
  ok "report --data RUN_DIR of a labels run: held-out misclustering curves beside EM's" ||
  { fail "labels learning curves: rc $rc"; cat "$WORK/cv.log"; }
# a metrics file from before the misclustering column resumes (the column NaN before)
/usr/bin/python3 -c "import h5py; f = h5py.File('$WORK/tl/metrics.h5', 'r+'); del f['eval/misclustering']"
rm "$WORK/tl/ckpt_00000020.h5"
run tl2 2 train "$CFG" "${LAB[@]}" train.steps=20 train.checkpoint_every=10 train.eval_every=10 \
  train.eval_tasks=8 train.run_dir="$WORK/tl"
/usr/bin/python3 - "$WORK/tl/metrics.h5" <<'PY' && [[ $rc == 0 ]] && ok "an old metrics file resumes: misclustering NaN before, a value after" || fail "old metrics file (rc $rc)"
import sys, h5py, numpy as np
m = h5py.File(sys.argv[1], "r")["eval/misclustering"][()]
assert m.shape == (2, 2) and np.isnan(m[0]).all() and np.isfinite(m[1]).all(), m
PY
run el 2 eval --verbose "$CFG" "${EV[@]}" eval.tasks_per_setting=8 "eval.methods=[tgmm,em]" \
  eval.save_predictions=true --checkpoint "$WORK/tl" --out "$WORK/el.h5"
need "eval labels" el
/usr/bin/python3 - "$WORK/el.h5" <<'PY' && ok "label rows: misclustering from labels, parameter metrics NaN, /pred_labels" || fail "label rows"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
m = np.array([s.decode() for s in f["method"][()]])
st = np.array([s.decode() for s in f["status"][()]])
t, e = m == "tgmm", m == "em"
assert t.sum() == 16 and (st[t] == "ok").all()
mis, acc = f["misclustering"][()], f["accuracy"][()]
assert np.isfinite(mis[t]).all() and np.allclose(acc[t], 1 - mis[t])
for k in ("l2_means", "l2_weights", "loglik"):
    assert np.isnan(f[k][()][t]).all(), k
    assert np.isfinite(f[k][()][e]).all(), k
pl, N, K = f["pred_labels"][()], f["N"][()], f["K"][()]
assert pl.dtype == np.int32 and pl.shape == (len(m), N.max()), pl.shape
assert (pl[e] == -1).all()
for r in np.where(t)[0]:
    assert (pl[r, :N[r]] >= 0).all() and (pl[r, :N[r]] < K[r]).all() and (pl[r, N[r]:] == -1).all()
PY
na=$(grep -cE "\| K=\[[23]\] \| n/a( \[8\])? \|" "$WORK/el.log")
"$TGMM_BIN" report --data "$WORK/el.h5" --out "$WORK/rl" >"$WORK/rl.log" 2>&1
rc=$?
# rl.md has every metric's table: tgmm n/a in l2_means, l2_weights and loglik (2 settings each);
# the console shows the verdict's metric (misclustering) alone
nr=$(grep -cE "\| K=\[[23]\] \| n/a( \[8\])? \|" "$WORK/rl.md")
[[ $rc == 0 && $na == 4 && $nr == 6 ]] && grep -q "^(every metric's table: $WORK/rl.md)" "$WORK/rl.log" &&
  [[ $(grep -c "(mean ± sd over tasks" "$WORK/rl.log") == 1 ]] && grep -q "^misclustering (mean" "$WORK/rl.log" && grep -q "(misclustering rate, paired over the tasks" "$WORK/rl.log" &&
  ! grep -q "nan" "$WORK/rl.md" && ok "summary and report show n/a, the verdict compares misclustering" ||
  { fail "n/a in summary ($na) / report ($nr), rc $rc"; cat "$WORK/rl.log"; }

# the depth view takes the evaluated model's depth (2 layers), not the eval config's (4)
run ed 1 eval "$CFG" "${EV[@]}" eval.tasks_per_setting=4 "eval.methods=[tgmm,em]" "eval.iterations=[1,2]" \
  --checkpoint "$WORK/tl" --out "$WORK/ed.h5"
need "eval with iterations" ed
"$TGMM_BIN" report --data "$WORK/ed.h5" --out "$WORK/rd" >"$WORK/rd.log" 2>&1
rc=$?
[[ $rc == 0 ]] && grep -qE "^\| K=\[2\] \| 2 \| " "$WORK/rd.md" && ! grep -qE "^\| K=\[2\] \| 4 \| " "$WORK/rd.md" &&
  ok "depth view: the model's own n_layer (model_config attribute)" || { fail "depth view layers (rc $rc)"; cat "$WORK/rd.log"; }
grep -q "^Where TGMM beats EM@2 (misclustering rate, paired over the tasks" "$WORK/rd.log" &&
  grep -qE "^TGMM beats EM@2 in [0-9] of 2 settings \(Wilcoxon p < 0.05\); EM@2 beats TGMM in [0-9]; no significant difference in [0-9]" "$WORK/rd.log" &&
  ok "verdict against the longest-run EM (EM@2)" || { fail "verdict with iterations"; cat "$WORK/rd.log"; }

# ---- both heads: tgmm_plugin ----
run tb 1 train "$CFG" "${LAB[@]}" model.head=both train.matching=hungarian train.steps=10 \
  train.checkpoint_every=0 train.run_dir="$WORK/tb"
need "train both" tb
run eb 2 eval "$CFG" "${EV[@]}" eval.tasks_per_setting=4 "eval.methods=[tgmm,oracle]" \
  --checkpoint "$WORK/tb" --out "$WORK/eb.h5"
need "eval both" eb
/usr/bin/python3 - "$WORK/eb.h5" <<'PY' && ok "model.head = both: tgmm (labels) and tgmm_plugin (mixture) rows" || fail "tgmm_plugin rows"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
m = [s.decode() for s in f["method"][()]]
assert m[:3] == ["tgmm", "oracle", "tgmm_plugin"], m[:3]
m = np.array(m)
l2 = f["l2_means"][()]
assert np.isnan(l2[m == "tgmm"]).all() and np.isfinite(l2[m == "tgmm_plugin"]).all()
assert np.isfinite(f["misclustering"][()][m == "tgmm_plugin"]).all()
PY
run ebad 1 eval "$CFG" "${EV[@]}" eval.tasks_per_setting=4 "eval.methods=[tgmm,tgmm_plugin]" \
  --checkpoint "$WORK/tl" --out "$WORK/ebad.h5"
[[ $rc == 2 && ! -e $WORK/ebad.h5 ]] && grep -q "tgmm_plugin compares the two heads" "$WORK/ebad.log" &&
  ok "tgmm_plugin for a labels model refused (exit 2, nothing written)" ||
  { fail "tgmm_plugin refusal: rc $rc"; cat "$WORK/ebad.log"; }

run ck 1 check "$CFG" "${LAB[@]}" "${EV[@]}" "eval.methods=[tgmm,tgmm_plugin]"
[[ $rc == 2 ]] && grep -q "tgmm_plugin compares the two heads" "$WORK/ck.log" &&
  ok "tgmm check refuses tgmm_plugin for a labels config" || { fail "check: rc $rc"; cat "$WORK/ck.log"; }

# ---- a dataset without /z ----
run g 1 gen "$CFG" "K=[2,3]" tasks=64 --out "$WORK/g.h5"
need gen g
/usr/bin/python3 -c "import h5py; f = h5py.File('$WORK/g.h5', 'r+'); del f['z']"
run tz 1 train "$CFG" "${LAB[@]}" train.steps=2 --data "$WORK/g.h5" train.run_dir="$WORK/tz"
[[ $rc == 2 ]] && grep -q "trains on the true labels /z, which the file lacks" "$WORK/tz.log" &&
  ok "a label head from a dataset without /z refused (exit 2)" || { fail "no /z: rc $rc"; cat "$WORK/tz.log"; }

# ---- Mamba2 backbone with a label head ----
run tm 2 train "$CFG" "${LAB[@]}" model.backbone=mamba2 model.ssm_heads=4 model.ssm_head_dim=16 \
  train.steps=5 train.checkpoint_every=0 train.run_dir="$WORK/tm"
need "train mamba2 labels" tm
run em 2 eval "$CFG" "${EV[@]}" eval.tasks_per_setting=4 "eval.methods=[tgmm]" \
  --checkpoint "$WORK/tm" --out "$WORK/em.h5"
need "eval mamba2 labels" em
[[ $rc == 0 ]] && ok "mamba2 with a label head trains and evaluates"
finish
