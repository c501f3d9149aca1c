#!/usr/bin/env bash
# He et al.'s experiment (issue 14): mean_scale scales the means of `tgmm gen` and nothing else
# (mean_scale = 1 is the file of a config without the key) and is refused with phase_transition;
# /delta of every eval row is the smallest distance between the task's true means (checked
# against the truth of a `tgmm gen` file read by eval --data; NaN without /means and for K = 1);
# eval.iterations: the em@c / lloyd@c rows equal a plain eval with em.max_iter = lloyd.max_iter
# = c, bit for bit, on the same tasks; tgmm, spectral and the oracle have one row per task;
# gridding em.max_iter as well is refused; the results are the same on 1 and 2 ranks; the
# summary prints n/a, never a number, for cells without a value; tgmm report draws the rate
# plot (and not without /delta) and, for runs of several depths, the depth table and plot;
# jobs/reproduce.sh --dry-run shows the depth sweep.
source "$(dirname "$0")/lib.sh"
cd "$WORK"
py() { /usr/bin/python3 - "$@"; }

# 1. mean_scale in tgmm gen
G=(d=4 "K=[1,2,3]" N=40 tasks=12 family=anisotropic)
mpi 2 "$TGMM_BIN" gen "${G[@]}" --out g_def.h5 >g.log 2>&1 || { fail "gen"; cat g.log; }
mpi 2 "$TGMM_BIN" gen "${G[@]}" mean_scale=1 --out g_one.h5 >>g.log 2>&1 || fail "gen mean_scale=1"
mpi 2 "$TGMM_BIN" gen "${G[@]}" mean_scale=0.25 --out g_q.h5 >>g.log 2>&1 || fail "gen mean_scale=0.25"
same_datasets g_def.h5 g_one.h5 >/dev/null && ok "mean_scale = 1 is the file without the key" ||
  fail "mean_scale = 1 changed the tasks"
if py g_def.h5 g_q.h5 <<'PY'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
assert np.allclose(b["means"][()], 0.25 * a["means"][()], rtol=0, atol=1e-12)
assert np.abs(a["means"][()]).max() > 1.25, "the default box is [-5, 5]"
assert np.abs(b["means"][()]).max() <= 1.25
for n in ("weights", "scales", "K", "offsets", "z"):
    assert np.array_equal(a[n][()], b[n][()]), n
print("means scaled by 0.25; weights, scales, labels unchanged")
PY
then ok "mean_scale = 0.25: the means scaled, the anisotropic scales not"; else fail "mean_scale scaling"; fi
mpi 2 "$TGMM_BIN" check family=phase_transition mean_scale=0.5 >pt.log 2>&1; rc=$?
[[ $rc == 2 ]] && grep -q "key 'mean_scale'.*phase_transition" pt.log && ok "mean_scale with phase_transition refused (exit 2, names the key)" ||
  { fail "phase_transition + mean_scale (rc $rc)"; cat pt.log; }
mpi 2 "$TGMM_BIN" check "eval.grid.family=[isotropic,phase_transition]" mean_scale=0.5 >pt2.log 2>&1; rc=$?
[[ $rc == 2 ]] && grep -q "phase_transition" pt2.log && ok "... also as a grid setting" || { fail "grid pt (rc $rc)"; cat pt2.log; }

# 2. /delta from the stored truth (eval --data), NaN without /means
E=(d=4 "K=[1,2,3]" N=40 "eval.methods=[em,lloyd,oracle]" eval.chunk=3)
mpi 2 "$TGMM_BIN" eval "${E[@]}" --data g_q.h5 --out dq.h5 >dq.log 2>&1 || { fail "eval --data"; cat dq.log; }
if py g_q.h5 dq.h5 <<'PY'
import sys, h5py, numpy as np
g, e = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
K, M = g["K"][()], g["means"][()]
task, delta = e["task"][()], e["delta"][()]
assert delta.dtype == np.float64 and delta.shape == task.shape
seen_nan = seen_val = 0
for r in range(len(task)):
    k = K[task[r]]
    if k < 2:
        assert np.isnan(delta[r]); seen_nan += 1; continue
    m = M[task[r], :k]
    ref = min(np.linalg.norm(m[i] - m[j]) for i in range(k) for j in range(i + 1, k))
    assert abs(ref - delta[r]) <= 1e-12 * ref, (r, ref, delta[r])
    seen_val += 1
assert seen_nan > 0 and seen_val > 0
print(f"{seen_val} rows equal the direct computation, {seen_nan} K=1 rows NaN")
PY
then ok "/delta = smallest distance between the stored true means (NaN for K = 1)"; else fail "/delta"; fi
grep -q "delta" dq.log && fail "delta appears in the summary (a covariate, not a metric)" || ok "delta is not a summary metric"
py g_q.h5 bare.h5 <<'PY'
import sys, h5py
g, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "w")
for n in ("x", "offsets", "K", "z", "weights"):
    b[n] = g[n][()]
PY
mpi 2 "$TGMM_BIN" eval "${E[@]}" "eval.methods=[em,lloyd]" --data bare.h5 --out db.h5 >db.log 2>&1 || { fail "eval --data without /means"; cat db.log; }
py db.h5 <<'PY' && ok "/delta NaN without /means" || fail "/delta without /means"
import sys, h5py, numpy as np
assert np.isnan(h5py.File(sys.argv[1], "r")["delta"][()]).all()
PY

# 3. eval.iterations against plain evals; tgmm once per task
T=(d=4 "K=[2,3]" N=32 model.n_layer=1 model.n_embd=16 model.n_head=2 model.n_task_embd=8
   model.attention=bidirectional model.positions=none train.steps=3 train.batch_size=2
   train.checkpoint_every=0 train.resume=never eval.tasks_per_setting=12 eval.chunk=2
   "eval.grid.mean_scale=[0.5,1]" "eval.grid.K=[2,3]")
mpi 2 "$TGMM_BIN" train "${T[@]}" train.run_dir=m1 >t1.log 2>&1 || { fail "train"; tail -5 t1.log; finish; }
IT=("eval.methods=[tgmm,em,spectral,lloyd,oracle]" "eval.iterations=[1,3]")
mpi 2 "$TGMM_BIN" eval "${T[@]}" "${IT[@]}" --checkpoint m1 --verbose --out it2.h5 >it2.log 2>&1 || { fail "eval iterations"; cat it2.log; }
mpi 1 "$TGMM_BIN" eval "${T[@]}" "${IT[@]}" --checkpoint m1 --out it1.h5 >it1.log 2>&1 || fail "eval iterations, 1 rank"
same_datasets it1.h5 it2.h5 >/dev/null 2>&1 || py it1.h5 it2.h5 <<'PY' && ok "eval.iterations: the same rows on 1 and 2 ranks" || fail "rank counts differ"
import sys, h5py, numpy as np   # everything but the timings
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
for n in a:
    if isinstance(a[n], h5py.Dataset) and n != "seconds":
        assert np.array_equal(a[n][()], b[n][()], equal_nan=a[n].dtype.kind == "f"), n
PY
for c in 1 3; do
  mpi 2 "$TGMM_BIN" eval "${T[@]}" "eval.methods=[em,lloyd]" em.max_iter=$c lloyd.max_iter=$c \
      --out plain$c.h5 >plain$c.log 2>&1 || { fail "plain eval max_iter=$c"; cat plain$c.log; }
done
if py it2.h5 plain1.h5 plain3.h5 <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
meth = f["method"][()].astype(str)
names = ["tgmm", "em@1", "em@3", "spectral", "lloyd@1", "lloyd@3", "oracle"]
assert list(meth[:7]) == names, list(meth[:7])
S, n = len(f["settings/label"]), 12
for m in ("tgmm", "spectral", "oracle"):       # once per task, never per count
    assert (meth == m).sum() == S * n, (m, (meth == m).sum())
assert not np.isin(meth, ["em", "lloyd"]).any()
cols = ["loglik", "l2_means", "l2_weights", "accuracy", "misclustering", "l2_scales", "delta",
        "iterations", "K", "N", "setting", "task", "status"]
for c, p in ((1, sys.argv[2]), (3, sys.argv[3])):
    g = h5py.File(p, "r")
    pm = g["method"][()].astype(str)
    for m in ("em", "lloyd"):
        sel_a, sel_b = meth == f"{m}@{c}", pm == m
        assert sel_a.sum() == sel_b.sum() == S * n
        for col in cols:
            x, y = f[col][()][sel_a], g[col][()][sel_b]
            assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), (m, c, col)
        it = f["iterations"][()][sel_a]
        assert it.max() <= c and (it == c).any(), (m, c, it)
print("em@c, lloyd@c = plain evals with max_iter = c, bitwise; tgmm, spectral, oracle once")
PY
then ok "eval.iterations: em@c/lloyd@c rows equal plain evals at max_iter = c; tgmm once per task"
else fail "eval.iterations rows"; fi
grep -q "| em@1 | em@3 |" it2.log && grep -Eq "^\| mean_scale=.* n/a \[" it2.log && ! grep -qi "nan" it2.log &&
  ok "summary: a column per count, n/a (never nan or 0) for cells without a value" || { fail "summary"; grep "|" it2.log | head -20; }
mpi 2 "$TGMM_BIN" eval "${T[@]}" "${IT[@]}" "eval.grid.em.max_iter=[5,10]" --checkpoint m1 --out bad.h5 >bad.log 2>&1; rc=$?
[[ $rc == 2 && ! -e bad.h5 ]] && grep -q "eval.iterations.*eval.grid.em.max_iter cannot vary" bad.log &&
  ok "eval.iterations with a gridded em.max_iter refused" || { fail "grid conflict (rc $rc)"; cat bad.log; }

# 4. report: the rate plot; two depths: the depth table and plot
mpi 2 "$TGMM_BIN" train "${T[@]}" model.n_layer=2 train.run_dir=m2 >t2.log 2>&1 || fail "train depth 2"
mpi 2 "$TGMM_BIN" eval "${T[@]}" "${IT[@]}" model.n_layer=2 --checkpoint m2 --out l2.h5 >l2.log 2>&1 || fail "eval depth 2"
"$TGMM_BIN" report --data it2.h5 --out one >one.log 2>&1 || { fail "report"; cat one.log; }
if command -v gnuplot >/dev/null; then
  for e in png gp dat; do [[ -s one.rate.$e ]] || fail "one.rate.$e missing"; done
  grep -q "minimax(x) = exp(-x\*x/8)" one.rate.gp && grep -q "^set logscale y" one.rate.gp &&
    grep -q "set multiplot layout 1,2" one.rate.gp && grep -q "quantile bins" one.rate.gp &&
    ok "rate plot: exp(-delta^2/8), log y, EM and Lloyd panels" || { fail "rate gp"; cat one.rate.gp; }
  [[ $(grep -c '^# ' one.rate.dat) == 9 ]] && ok "rate dat: one block per method column (7)" || { fail "rate dat"; cat one.rate.dat; }
  py it2.h5 one.rate.dat <<'PY' && ok "rate dat: bin means recomputed from the rows" || fail "rate dat values"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
meth, st = f["method"][()].astype(str), f["status"][()].astype(str)
d, mis = f["delta"][()], f["misclustering"][()]
use = (st == "ok") & np.isfinite(d) & np.isfinite(mis)
blocks = open(sys.argv[2]).read().split("\n\n\n")
assert "in 2 quantile bins" in blocks[0], "48 tasks: 2 bins of 24"
for b in blocks:
    lines = [l for l in b.splitlines() if l.strip()]
    name = lines[0][2:] if not lines[0].startswith("# misclustering") else lines[2][2:]
    rows = [l.split() for l in lines if not l.startswith("#")]
    edges = [float(r[3]) for r in rows] + [np.inf]
    for i, r in enumerate(rows):
        sel = use & (meth == name) & (d >= edges[i]) & (d < edges[i + 1])
        assert int(r[2]) == sel.sum(), (name, i)
        if r[1] != "?":
            assert abs(float(r[1]) - mis[sel].mean()) < 1e-8, (name, i)
PY
  "$TGMM_BIN" report --data it2.h5 --data l2.h5 --out two --rows rows.csv >two.log 2>&1 || { fail "merged report"; cat two.log; }
  py rows.csv it2.h5 <<'PY' && ok "rows CSV: delta column = /delta" || fail "rows CSV delta"
import sys, h5py, numpy as np, pandas as pd
rows, f = pd.read_csv(sys.argv[1], float_precision="round_trip"), h5py.File(sys.argv[2], "r")
r0 = rows[rows.run == 0]
assert np.array_equal(r0["delta"].to_numpy(), f["delta"][()], equal_nan=True)
PY
  grep -q "## Misclustering: transformer depth against EM and Lloyd iterations" two.md &&
    grep -Eq "^\| mean_scale=0.5 K=\[2\] \| 1 \| [0-9.]+ .* \| 1 \| [0-9.]+" two.md &&
    grep -Eq "^\|  \| 2 \| [0-9.]+ .* \| 3 \| [0-9.]+" two.md && [[ -s two.depth.png && -s two.depth.gp ]] &&
    grep -q "title 'tgmm n_layer=2'" two.rate.gp &&
    ok "merged report: depth (1, 2) beside iterations (1, 3), depth plot, tgmm per depth in the rate plot" ||
    { fail "depth view"; grep -A8 "transformer depth" two.md; }
  cp it2.h5 old.h5
  py old.h5 <<'PY'
import sys, h5py
del h5py.File(sys.argv[1], "r+")["delta"]
PY
  "$TGMM_BIN" report --data old.h5 --out old >old.log 2>&1 && [[ -s old.md && ! -e old.rate.png ]] &&
    ok "a file without /delta: report without the rate plot" || { fail "old file"; cat old.log; }
else
  echo "gnuplot not installed: plot checks skipped"
fi

# 5. reproduce.sh --dry-run: the depth sweep
mkdir dry && (cd dry && TGMM="$TGMM_BIN" "$TGMM_SRC/jobs/reproduce.sh" he_misclustering --dry-run --runs "$WORK/dry/runs" >../dry.out 2>&1); rc=$?
depths() { for L in 1 2 4 8 12; do
  grep -q "he_misclustering/L$L: model.n_layer=$L " dry.out || return 1; done; }
if [[ $rc == 0 && -z $(ls -A dry) ]] && grep -q "5 run(s)" dry.out && depths &&
   grep -q "array=0-4" dry.out && grep -q "report --data .*L1/eval.h5 .*L12/eval.h5" dry.out; then
  ok "reproduce.sh --dry-run he_misclustering: n_layer 1, 2, 4, 8, 12, one array, one merged report"
else fail "reproduce dry-run (rc $rc)"; cat dry.out; fi
finish
