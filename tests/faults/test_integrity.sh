# No shell between a path and gnuplot, reports all or none, every read bounded and every
# dataset's shape checked, long paths, no garbage marked ok, -q caps per-task lines (runs in the
# sanitizer build too): each case ends with the same exit code on every rank, nothing written on
# failure, inputs untouched.
source "$TGMM_SRC/tests/faults/lib.sh"
cd "$WORK"
T=("$CFG" "${TINY[@]}" train.batch_size=2)
py() { /usr/bin/python3 - "$@"; }

# -- hostile paths (quotes, $(...), backquotes, ;, a newline) in every path train, eval and
#    report take: nothing runs, everything is written, the kept scripts rerun.
H="h/it's \$(touch INJ1) \`touch INJ2\`; \"q\"
nl"   # the options' paths; key=value values are YAML (a newline folds): no newline in run_dir
R="h/it's \$(touch INJ3) \`touch INJ4\`; \"q\"/run"
mkdir -p "$H" "$(dirname "$R")"
run_all 0 2 - "" train "${T[@]}" train.steps=2 train.eval_every=1 train.eval_tasks=4 train.run_dir="$R"
run_all 0 2 - "" eval "$CFG" N=64 --checkpoint "$R" --out "$H/e.h5" eval.tasks_per_setting=2 "eval.methods=[tgmm,em]"
run_all 0 1 - "" report --data "$H/e.h5" --out "$H/r'x"
run_all 0 1 - "" report --data "$R"
[[ -s "$H/e.h5" && -s "$H/r'x.md" && -s "$R/curves.loss.png" && -s "$R/curves.heldout.png" ]] &&
  ok "hostile paths: written" || fail "hostile paths: outputs missing"
n=$(ls "$H" | grep -c 'png$')
((n >= 4)) && ok "hostile prefix: $n plots" || fail "hostile prefix: $n plots"
rm -f "$H/r'x.l2_means.png"
gnuplot "$H/r'x.l2_means.gp" 2> /dev/null && [[ -s "$H/r'x.l2_means.png" ]] && ok "kept script reruns" ||
  fail "the kept script does not rerun"
find . -name 'INJ*' | grep -q . && fail "a command in a path ran" || ok "no command in a path ran"
grep -l "tgmm-report" "$H"/* "$R"/* 2> /dev/null | grep -q . && fail "a staging path is left in a file" || ok "no staging path in the files"
cp "$H/e.h5" E.h5
cp -r "$R" R

# -- reports all or none: gnuplot failing or the report killed (TERM or KILL) leaves the
#    earlier complete report byte for byte and no new file under a real name.
run_all 0 1 rep.md "E.h5" report --data E.h5 --out rep
before=$(ls rep.* | sort | xargs md5sum | md5sum)
mkdir -p fake && printf '#!/bin/sh\nexit 1\n' > fake/gnuplot && chmod +x fake/gnuplot
PATH="$WORK/fake:$PATH" run_all 1 1 - "E.h5" report --data E.h5 --out rep; said "gnuplot failed"
[[ $(ls rep.* | sort | xargs md5sum | md5sum) == "$before" ]] && ok "failed rerun: the earlier report intact" ||
  fail "a failed rerun changed the earlier report"
printf '#!/bin/sh\nsleep 30\n' > fake/gnuplot
for sig in TERM KILL; do
  PATH="$WORK/fake:$PATH" "$TGMM_BIN" report --data E.h5 --out new$sig > /dev/null 2>&1 &
  pid=$!
  for _ in $(seq 100); do ls -a | grep -q "^.tgmm-report" && break; sleep 0.1; done
  sleep 0.5; kill -$sig $pid; wait $pid 2> /dev/null
  pkill -P $$ -x sleep 2> /dev/null
  ls new$sig.* > /dev/null 2>&1 && fail "kill -$sig: files under real names: $(ls new$sig.*)" ||
    ok "kill -$sig during report: no file under a real name"
done
ls -a | grep -q "^.tgmm-report-" && [[ $(ls -a | grep -c "^.tgmm-report-") == 1 ]] &&
  ok "only the KILLed report's hidden staging directory is left" || fail "staging: $(ls -a)"
rm -rf .tgmm-report-*

# -- config files: read with a bound (16 MiB), never until the end of a stream.
for src in /dev/zero /dev/urandom; do
  run_all 2 2 - "" check "$src"; said "longer than the 16 MiB"
done
head -c $((17 << 20)) /dev/zero | tr '\0' '#' > big.yaml
run_all 2 1 - "" check big.yaml; said "big.yaml: the config file has 17825792 bytes, more than the 16 MiB"

# -- long paths (up to what tgmm accepts) work for MPI-IO files (sharedfp/lockedfile excluded
#    before MPI_Init; a user's own OMPI_MCA_sharedfp is respected).
L=$(printf 'd%.0s' $(seq 120))/$(printf 'e%.0s' $(seq 120))/$(printf 'f%.0s' $(seq 60))
mkdir -p "$L"
run_all 0 2 "$L/g.h5" "" gen "$CFG" tasks=4 --out "$L/g.h5"
run_all 0 2 "$L/em.h5" "$L/g.h5" em "$CFG" --data "$L/g.h5" --out "$L/em.h5"
run_all 0 1 - "" train "${T[@]}" train.steps=1 train.run_dir="$L/run"
OMPI_MCA_sharedfp=individual run_all 0 2 "$L/g2.h5" "" gen "$CFG" tasks=4 --out "$L/g2.h5"

# -- dataset shapes checked before a read: metrics.h5 with a 2-D /step, a wider or a smaller
#    /eval/l2_means; results with /task or /delta longer than /setting; /K beyond int32;
#    /weights wider than the tasks' K; a directory given as a checkpoint file.
mpi 1 "$TGMM_BIN" gen "$CFG" tasks=8 --out I.h5 > /dev/null 2>&1 || fail "gen"
py <<'PY' || fail "writing the hostile files"
import h5py, numpy as np, shutil, os
def edit(src, dst, fn):
    if os.path.isdir(src): shutil.copytree(src, dst)
    else: shutil.copy(src, dst)
    p = os.path.join(dst, "metrics.h5") if os.path.isdir(dst) else dst
    with h5py.File(p, "a") as f: fn(f)
R, E = "R", "E.h5"
def step2d(f): s = f["step"][()]; del f["step"]; f["step"] = np.stack([s, s], 1)
def wide(f): v = f["eval/l2_means"][()]; del f["eval/l2_means"]; f["eval/l2_means"] = np.hstack([v, v])
def small(f): v = f["eval/l2_means"][()]; del f["eval/l2_means"]; f["eval/l2_means"] = v[:1, :1]
edit(R, "m_step2d", step2d); edit(R, "m_wide", wide); edit(R, "m_small", small)
def longtask(f): v = f["task"][()]; del f["task"]; f["task"] = np.concatenate([v, v])
def longdelta(f): v = f["delta"][()]; del f["delta"]; f["delta"] = np.concatenate([v, v])
edit(E, "r_task.h5", longtask); edit(E, "r_delta.h5", longdelta)
def bigK(f): v = f["K"][()].astype(np.int64); v[0] = 1 << 40; del f["K"]; f["K"] = v
def wideW(f): v = f["weights"][()]; del f["weights"]; f["weights"] = np.hstack([v, v, v, v, v, v, v, v, v, v])
edit("I.h5", "bigK.h5", bigK); edit("I.h5", "wideW.h5", wideW)
PY
for n in 1 2; do
  run_all 2 $n - "" report --data m_step2d; said "m_step2d/metrics.h5: dataset /step has shape \[[0-9]+, 2\], expected \[\*\]"
  run_all 2 $n - "" report --data m_small; said "dataset /eval/l2_means has shape \[1, 1\], expected"
  run_all 2 $n - "" train "${T[@]}" train.steps=3 train.eval_every=1 train.eval_tasks=4 train.run_dir=m_wide
  said "dataset /eval/l2_means has shape \[[0-9]+, [0-9]+\], expected"
  run_all 2 $n rows.csv "r_task.h5" report --data r_task.h5 --rows rows.csv; said "r_task.h5: dataset /task has shape"
  run_all 2 $n o.md "r_delta.h5" report --data r_delta.h5 --out o; said "r_delta.h5: /delta has [0-9]+ rows, /misclustering [0-9]+"
  run_all 2 $n o.h5 "bigK.h5" em "$CFG" --data bigK.h5 --out o.h5; said "bigK.h5: dataset /K holds 1099511627776 at entry 0"
  run_all 2 $n o.h5 "wideW.h5" em "$CFG" --data wideW.h5 --out o.h5; said "wideW.h5: dataset /means has 5 components, but /weights has 50"
  run_all 2 $n - "" train "${T[@]}" train.steps=1 train.run_dir=ifd train.init_from="$WORK"
  said "$WORK: a directory without checkpoints"   # a run directory stands for its newest checkpoint
  grep -qi "MPI\|ADIO\|HDF5-DIAG" "$WORK/last.log" && fail "library errors printed" || ok "one message"
done

# -- no garbage marked ok: spectral at d = 2, K = 2 fails its ill-conditioned tasks by name,
#    and every task it calls ok is a fit (l2 of means below 10, where unchecked ones reach 1e9).
mpi 1 "$TGMM_BIN" gen d=2 "K=[2]" N=32 tasks=128 seed=7 --out d2.h5 > /dev/null 2>&1 || fail "gen d2"
for n in 1 2; do
  rm -f sp.h5
  run_all 0 $n sp.h5 "d2.h5" spectral d=2 "K=[2]" N=32 --data d2.h5 --out sp.h5; said "spectral: ill-conditioned"
  py <<'PY' && ok "np $n: spectral ok rows are fits" || fail "np $n: spectral marks garbage ok"
import h5py, numpy as np, sys
f = h5py.File("sp.h5"); st = np.array([s.decode().strip("\0") for s in f["status"][()]]); l2 = f["l2_means"][()]
ok = st == "ok"
print(f"{ok.sum()} ok, {(st == 'failed').sum()} failed, worst ok l2 {np.nanmax(l2[ok]):.3g}")
sys.exit(0 if 0 < ok.sum() < len(st) and np.nanmax(l2[ok]) < 10 else 1)
PY
done

# -- tables show the median beside the mean (one wild task cannot hide the rest): the report's
#    CSV median of each (setting, method) is NumPy's over the ok rows, and the Markdown has it.
mpi 1 "$TGMM_BIN" eval d=2 "K=[2]" N=32 "eval.methods=[spectral, oracle]" --data d2.h5 --out ev2.h5 > /dev/null 2>&1 &&
  mpi 1 "$TGMM_BIN" report --data ev2.h5 --out med > /dev/null 2>&1 || fail "eval/report of d2.h5"
py <<'PY' && ok "median beside the mean (CSV = NumPy, Markdown cells)" || fail "median"
import h5py, numpy as np, pandas as pd, re
f = h5py.File("ev2.h5"); st = f["status"].asstr()[()]; m = f["method"].asstr()[()]
c = pd.read_csv("med.csv")
for meth in ("spectral", "oracle"):
    for metric in ("l2_means", "l2_weights"):
        v = f[metric][()]; sel = (m == meth) & (st == "ok") & np.isfinite(v)
        got = c[(c.method == meth) & (c.metric == metric)]["median"].item()
        assert np.isclose(got, np.median(v[sel]), rtol=1e-12), (meth, metric, got, np.median(v[sel]))
md = open("med.md").read()
assert "then (median)" in md and re.search(r"\| K=\[?2\]? \| [0-9.e+-]+ ± [0-9.e+-]+ \([0-9.e+-]+\)", md), md[:800]
PY

# -- -q caps repeated per-task lines: the first 10 of each rank, then one count.
py <<'PY' || fail "writing the degenerate tasks"
import h5py, numpy as np
with h5py.File("many.h5", "w") as f: # 400 tasks of one sample each, K = 2: all degenerate
    f["x"] = np.zeros((400, 8)); f["offsets"] = np.arange(401, dtype=np.int64); f["K"] = np.full(400, 2, np.int32)
PY
for n in 1 2; do
  run_all 0 $n - "many.h5" em "$CFG" -q --data many.h5 --out q$n.h5
  c=$(grep -c "status failed" "$WORK/last.log")
  ((c <= 10 * n)) && ok "-q: $c per-task lines" || fail "-q printed $c per-task lines"
  said "tgmm: $((400 - c)) further per-task lines not shown"
done
run_all 0 1 - "many.h5" em "$CFG" --data many.h5 --out q0.h5
[[ $(grep -c "status failed" "$WORK/last.log") == 400 ]] && ok "without -q: all 400" || fail "without -q: not all lines"
finish
