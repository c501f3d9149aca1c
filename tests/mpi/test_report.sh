#!/usr/bin/env bash
# tgmm report as a researcher uses it: plots of a 2-key grid (title, axis labels, error bars,
# one panel per value of the second key, .gp and .dat kept, PNG exists; ci95 bars narrower
# than sd bars), several results files merged (differing keys as columns, the papers' pivot
# tables, LaTeX table environments, a provenance header), a results file written before the
# step attribute still read, --rows read by pandas as it is; tgmm check on a typo; --data twice
# refused by other commands; jobs/reproduce.sh --dry-run creating nothing.
source "$(dirname "$0")/lib.sh"
cd "$WORK"
ev=(eval.tasks_per_setting=6 "eval.methods=[em,spectral,oracle]" "eval.grid={K: [2, 3], N: [32, 64]}")
for d in 2 4; do
  mpi 2 "$TGMM_BIN" eval d=$d N=64 "${ev[@]}" --out "r$d.h5" >"ev$d.log" 2>&1 || { fail "eval d=$d"; cat "ev$d.log"; finish; }
done

# 1. plots of a 2-key grid
if "$TGMM_BIN" report --data r2.h5 --out one >one.log 2>&1; then ok "report on a 2-key grid"; else fail "report"; cat one.log; fi
for m in l2_means l2_weights accuracy misclustering; do
  for e in png gp dat; do [[ -s one.$m.$e ]] || fail "one.$m.$e missing"; done
done
gp=one.l2_means.gp
if grep -q "^set xlabel 'K'" $gp && grep -q "^set ylabel 'l2 error of means'" $gp &&
   grep -q "yerrorlines" $gp && grep -q "set multiplot layout" $gp && grep -q "^set title 'N=64'" $gp &&
   grep -q "l2 error of means by K (mean; bars: 95% interval of the mean" $gp && grep -q "^set logscale y" $gp &&
   grep -q "clustering accuracy by K (mean; bars: sd over tasks)" one.accuracy.gp; then
  ok "gp: axis labels, title, error bars, one panel per N"
else fail "gp content"; cat $gp; fi
[[ $(grep -c '^# panel' one.l2_means.dat) == 2 ]] && ok "dat: one block per panel" || fail "dat blocks"
if command -v gnuplot >/dev/null; then
  rm -f rerun.png
  gnuplot -e "out='rerun.png'" $gp && [[ -s rerun.png ]] && ok "the kept .gp reruns" || fail "gp rerun"
fi
"$TGMM_BIN" report --data r2.h5 --out ci report.error_bars=ci95 >/dev/null 2>&1
# sd or ci95 bars on a linear axis (accuracy); on a log axis (l2 of means here) always the 95%
# interval of the mean (an sd bar reaches below 0 there)
if /usr/bin/python3 - one.accuracy.dat ci.accuracy.dat one.l2_means.dat ci.l2_means.dat <<'PY'
import sys, numpy as np
def bars(p):  # error bars and task counts
    rows = [l.split() for l in open(p) if l.strip() and not l.startswith("#")]
    e = np.array([[np.nan if x == "?" else float(x) for x in r[3::3]] for r in rows])
    n = np.array([[int(x) for x in r[4::3]] for r in rows])
    return e, n
(sd, n), (ci, n2) = bars(sys.argv[1]), bars(sys.argv[2])
assert (n == n2).all()
six = (n == 6) & (sd > 0)
assert six.sum() >= 6, six.sum()
# 6 tasks: t(0.975, 5) / sqrt(6) = 2.571 / 2.449
assert np.allclose(ci[six] / sd[six], 2.571 / np.sqrt(6), rtol=1e-6)
(lsd, _), (lci, _) = bars(sys.argv[3]), bars(sys.argv[4])
assert np.allclose(lsd, lci, equal_nan=True) and (lci[np.isfinite(lci)] > 0).any()
PY
then ok "report.error_bars=ci95: the 95% interval of the mean"; else fail "ci95 bars"; fi
grep -q "^# tgmm report" one.md && grep -q "Produced by \`tgmm report --data r2.h5 --out one\`" one.md &&
  grep -q "| 0 | r2.h5 | (none) | 0 | 6 | 4 |" one.md && ok "report starts with what produced it" ||
  { fail "provenance"; head -12 one.md; }
grep -q '\\begin{table}' one.tex && grep -q '\\caption{' one.tex && ok "LaTeX table environments with captions" || fail "tex tables"

# 2. merged report and rows; a file written before the step attribute
cp r4.h5 old4.h5
/usr/bin/python3 - <<'PY'   # as files were written before: no step, no l2_scales, grid values as strings
import h5py, numpy as np
f = h5py.File("old4.h5", "r+")
del f.attrs["step"]; del f["l2_scales"]
for k in ("K", "N"):
    v = f["settings/" + k][()]; del f["settings/" + k]
    f["settings/" + k] = np.array([str(x).encode() for x in v], dtype="S64")
PY
if "$TGMM_BIN" report --data r2.h5 --data old4.h5 --out merged --rows rows.csv >merged.log 2>&1; then
  ok "merged report of two runs"
else fail "merged report"; cat merged.log; fi
grep -q "2 runs; they differ in: \`d\`" merged.md && grep -q "| 1 | old4.h5 | (none) | (not stored) |" merged.md &&
  ok "header: differing keys, an older file (no step, no l2_scales, grid values as strings)" || { fail "merged header"; head -12 merged.md; }
if grep -q "^| d | N | K=2 em | K=2 spectral | K=2 oracle | K=3 em |" merged.md &&
   [[ $(grep -c '^| [24] | [36][24] | ' merged.md) == 20 ]] && grep -q "^### l2 error of scales by K" merged.md; then
  ok "papers' tables: rows d x N, columns K x methods (5 metrics: spectral has scales)"
else fail "pivot tables"; grep -A6 "papers" merged.md; fi
grep -q 'multicolumn{3}{c}{$K = 2$}' merged.tex && ok "LaTeX pivot" || fail "LaTeX pivot"
if /usr/bin/python3 - rows.csv r2.h5 r4.h5 <<'PY'
import sys
import pandas as pd
import h5py, numpy as np
rows = pd.read_csv(sys.argv[1])
assert len(rows) == 2 * 4 * 6 * 3, len(rows)
for c in ["method", "status", "task", "l2_means", "accuracy", "K", "N", "d"]:
    assert c in rows.columns, (c, list(rows.columns))
assert rows["K"].dtype.kind == "i" and rows["N"].dtype.kind == "i" and rows["d"].dtype.kind == "i"
m = rows.groupby(["d", "N", "K", "method"])["l2_means"].mean()
for d, path in [(2, sys.argv[2]), (4, sys.argv[3])]:
    f = h5py.File(path, "r")
    lab = f["settings/label"][()].astype(str)
    meth = f["method"][()].astype(str); s = f["setting"][()]; v = f["l2_means"][()]
    for i, l in enumerate(lab):
        K = int(l.split("K=[")[1].split("]")[0]); N = int(l.split("N=")[1])
        sel = (s == i) & (meth == "em")
        assert abs(m[(d, N, K, "em")] - v[sel].mean()) < 1e-12, (d, N, K)
print("pandas: %d rows, columns %s" % (len(rows), ",".join(rows.columns)))
PY
then ok "rows CSV: pandas.read_csv as it is; numbers are numbers; means match the files"; else fail "rows CSV"; fi
# README's pandas snippet, as printed there, on this rows file
awk '/^Rows for pandas/ {f = 1} f && /^```python/ {p = 1; next} p && /^```/ {exit} p' "$TGMM_SRC/README.md" |
  sed 's|runs/rq1/rows.csv|rows.csv|' >snippet.py
[[ $(wc -l <snippet.py) == 3 ]] && /usr/bin/python3 snippet.py >snippet.out 2>&1 && grep -q "oracle" snippet.out &&
  ok "README's three-line pandas snippet runs" || { fail "README snippet"; cat snippet.py snippet.out; }

# 3. tgmm check, --data twice, reproduce --dry-run
"$TGMM_BIN" check "$TGMM_SRC/configs/paper/rq1_grid.yaml" train.stpes=10 >out.txt 2>err.txt; rc=$?
[[ $rc == 2 ]] && grep -q "train.stpes" err.txt && ok "check: a typo exits 2 naming the key" || { fail "check typo rc=$rc"; cat err.txt; }
"$TGMM_BIN" check "$TGMM_SRC/configs/paper/rq1_grid.yaml" "eval.grid.K=[2,6]" >/dev/null 2>err.txt; rc=$?
[[ $rc == 2 ]] && grep -q "no read-out for K = 6" err.txt && ok "check: a grid setting the model cannot fit exits 2" || { fail "check grid rc=$rc"; cat err.txt; }
for cfg in "$TGMM_SRC"/configs/paper/*.yaml "$TGMM_SRC"/configs/*.yaml; do
  "$TGMM_BIN" check "$cfg" >out.txt 2>err.txt || fail "check $(basename "$cfg")"
done
grep -q "^  error_bars: sd" out.txt && ok "check prints the resolved config (every config of configs/ valid)" || fail "check output"
mpi 2 "$TGMM_BIN" eval --data r2.h5 --data r4.h5 --out x.h5 >/dev/null 2>err.txt; rc=$?
[[ $rc == 2 ]] && grep -q "option --data is given twice" err.txt && ok "eval refuses --data twice" || fail "eval --data twice rc=$rc"
mkdir dry && (cd dry && touch before && TGMM="$TGMM_BIN" "$TGMM_SRC/jobs/reproduce.sh" --dry-run rq1 --runs "$WORK/dry/runs" train.steps=3 >../dry.out 2>&1); rc=$?
if [[ $rc == 0 && $(ls -A dry) == before ]] && grep -q -- "--array=0-11" dry.out &&
   grep -q "afterok:TRAIN" dry.out && grep -q "#   11 rq1/d128_N128" dry.out; then
  ok "reproduce.sh --dry-run (option after the name): 12 combinations, array lines, nothing created"
else fail "dry run rc=$rc"; cat dry.out; ls -A dry; fi
(cd dry && TGMM="$TGMM_BIN" "$TGMM_SRC/jobs/reproduce.sh" rq1 train.stpes=3 --runs "$WORK/dry/runs" >../dry2.out 2>&1); rc=$?
[[ $rc == 2 && $(ls -A dry) == before ]] && grep -q "train.stpes" dry2.out && ok "reproduce.sh: a typo is refused before anything is submitted" || { fail "reproduce typo rc=$rc"; cat dry2.out; }
for e in "$TGMM_SRC"/configs/paper/*.yaml; do
  n=$(basename "$e" .yaml); [[ $n == rq1_grid ]] && n=rq1
  TGMM="$TGMM_BIN" "$TGMM_SRC/jobs/reproduce.sh" "$n" --dry-run >/dev/null 2>&1 || fail "reproduce.sh --dry-run $n"
done
ok "reproduce.sh --dry-run accepts every experiment of configs/paper"

# 4. quiet by default; train writes RUN_DIR/config.yaml; grid values and baseline files
tiny=(model.n_layer=1 model.n_embd=8 model.n_head=2 model.n_task_embd=4 model.n_positions=32 N=32 d=2
      "K=[2,3]" train.steps=2 train.batch_size=2 train.checkpoint_every=0 train.resume=never)
mpi 2 "$TGMM_BIN" train "${tiny[@]}" train.run_dir="$WORK/run" >train.out 2>train.err || { fail "train"; cat train.err; }
[[ $(grep -c "^# resolved config" train.err) == 0 && $(grep -c "^seed:" train.err) == 0 ]] &&
  [[ $(grep -c "^# tgmm .*command 'train'.*; resolved config: $WORK/run/config.yaml (--verbose prints it)$" train.err) == 1 ]] &&
  ok "train names its config and where the resolved one is in one line, without printing it" ||
  { fail "config line"; head -5 train.err; }
mpi 1 "$TGMM_BIN" train "${tiny[@]}" train.run_dir="$WORK/runv" --verbose >trainv.out 2>trainv.err || fail "train --verbose"
[[ $(grep -c "^# resolved config" trainv.err) == 1 && $(grep -c "^seed:" trainv.err) == 1 ]] &&
  ok "--verbose prints the resolved config once" || fail "--verbose: config printed $(grep -c '^# resolved config' trainv.err) times"
"$TGMM_BIN" check "${tiny[@]}" train.run_dir="$WORK/run" >check.yaml 2>/dev/null
if diff <(grep -v '^#' run/config.yaml) check.yaml >/dev/null; then ok "RUN_DIR/config.yaml: the resolved config"; else fail "config.yaml"; diff <(grep -v '^#' run/config.yaml) check.yaml; fi
/usr/bin/python3 -c "import yaml; c = yaml.safe_load(open('run/config.yaml')); assert c['train']['steps'] == 2 and c['K'] == [2, 3]" &&
  ok "config.yaml loads with PyYAML" || fail "config.yaml yaml"
mpi 2 "$TGMM_BIN" eval "${tiny[@]}" eval.tasks_per_setting=2 "eval.methods=[em]" "eval.grid={K: [2, 3], sigma_p: [0, 0.5]}" --out q.h5 --quiet >q.out 2>q.err
[[ $? == 0 && ! -s q.err ]] && ok "--quiet: nothing on stderr" || { fail "--quiet"; cat q.err; }
mpi 2 "$TGMM_BIN" eval "${tiny[@]}" eval.tasks_per_setting=2 "eval.methods=[em]" "eval.grid={K: [2, 3], sigma_p: [0, 0.5]}" --out v.h5 --verbose >v.out 2>v.err
grep -q "eval: setting 3: K=\[3\] sigma_p=0.5, 2 task(s)" v.err && ok "--verbose: every setting listed" || { fail "--verbose"; cat v.err; }
"$TGMM_BIN" gen "${tiny[@]}" tasks=5 --out g.h5 --quiet && mpi 2 "$TGMM_BIN" em "${tiny[@]}" --data g.h5 --out gem.h5 --quiet >/dev/null
if /usr/bin/python3 - <<'PY'
import h5py
f = h5py.File("q.h5", "r")
assert list(f["settings/K"][()]) == [2, 2, 3, 3] and f["settings/K"].dtype.kind == "i"
assert list(f["settings/sigma_p"][()]) == [0, 0.5, 0, 0.5] and f["settings/sigma_p"].dtype.kind == "f"
g = h5py.File("gem.h5", "r")
assert list(g["K"][()]) == [2, 3, 2, 3, 2] and list(g["task"][()]) == [0, 1, 2, 3, 4]
PY
then ok "grid values stored as numbers; baseline files have /K and /task"; else fail "numbers, /K, /task"; fi

# 5. anisotropic: scales scored (l2_scales), u drawn with the cosine filter
an=(family=anisotropic d=4 N=64 "K=[2,3]" em.covariance=diag eval.tasks_per_setting=6 "eval.methods=[em,oracle,spectral]" "eval.grid={K: [2, 3]}")
mpi 2 "$TGMM_BIN" eval "${an[@]}" --out an.h5 --quiet >/dev/null && "$TGMM_BIN" gen "${an[@]}" tasks=40 --out ang.h5 --quiet &&
  "$TGMM_BIN" report --data an.h5 --out an >/dev/null 2>&1
if /usr/bin/python3 - <<'PY'
import h5py, numpy as np
f = h5py.File("an.h5", "r")
m = f["method"][()].astype(str); v = f["l2_scales"][()]; st = f["status"][()].astype(str)
for meth in ["em", "oracle"]:
    sel = (m == meth) & (st == "ok")
    assert sel.sum() >= 10 and np.isfinite(v[sel]).all(), meth
assert v[(m == "oracle") & (st == "ok")].mean() < 0.2, v[m == "oracle"]
g = h5py.File("ang.h5", "r")
S = g["scales"][()]; K = g["K"][()] if "K" in g else None
n = 0
for t in range(S.shape[0]):
    k = int(K[t]) if K is not None else S.shape[1]
    u = 5 * np.log(np.expm1(S[t, :k] / 2))          # 2*softplus(u/5) inverted
    assert (np.abs(u) <= 5 + 1e-9).all()
    un = u / np.linalg.norm(u, axis=1, keepdims=True)
    c = un @ un.T - 2 * np.eye(k)
    assert c.max() < 0.8, (t, c.max()); n += 1
print("l2_scales: em %.3g oracle %.3g; %d tasks' u pass the cosine filter" % (
    v[m == "em"].mean(), v[m == "oracle"].mean(), n))
PY
then ok "anisotropic rows have l2_scales (em diag, oracle); u drawn with the cosine filter"; else fail "l2_scales / u filter"; fi
[[ -s an.l2_scales.png ]] && grep -q "l2 error of scales" an.md && ok "report: l2_scales table and plot" || fail "l2_scales in report"
finish
