#!/usr/bin/env bash
# tgmm eval: the same rows with 1, 2 and 3 ranks (dynamic scheduling must not change results);
# the layout; the oracle is at least as good as EM on average; user errors exit 2 with no output.
source "$(dirname "$0")/lib.sh"
cfg=("$TGMM_SRC/configs/quickstart.yaml" model.n_layer=1 model.n_embd=16 model.n_head=2
     model.n_task_embd=8 train.steps=3 train.batch_size=4 train.checkpoint_every=0 train.resume=never)
if ! mpi 1 "$TGMM_BIN" train "${cfg[@]}" train.run_dir="$WORK/run" >"$WORK/train.log" 2>&1; then
  fail "training a tiny model failed"; cat "$WORK/train.log"; finish
fi
ck="$WORK/run/ckpt_00000003.h5"
ev=("${cfg[@]}" "eval.grid={K: [2, 4], N: [16, 48]}" eval.tasks_per_setting=6 eval.chunk=4 eval.save_predictions=true
    "eval.methods=[tgmm, em, spectral, oracle, lloyd]" --checkpoint "$ck")
ev_dir=("${ev[@]:0:${#ev[@]}-1}" "$WORK/run")  # --checkpoint RUN_DIR: its newest checkpoint
for n in 1 2 3; do
  args=("${ev[@]}"); ((n == 2)) && args=("${ev_dir[@]}")
  if mpi $n "$TGMM_BIN" eval "${args[@]}" --out "$WORK/ev.$n.h5" >"$WORK/ev.$n.log" 2>&1; then
    ok "eval with $n ranks"
  else
    fail "eval with $n ranks"; cat "$WORK/ev.$n.log"
  fi
done
! grep -q "| setting |" "$WORK/ev.1.log" && grep -q "^eval: tables and the paired verdict: tgmm report --data $WORK/ev.1.h5" "$WORK/ev.1.log" &&
  ok "eval prints no tables by default (tgmm report's), one line pointing to them" || { fail "eval tables by default"; cat "$WORK/ev.1.log"; }
mpi 1 "$TGMM_BIN" eval "${ev[@]}" --out "$WORK/ev.v.h5" --verbose >"$WORK/ev.v.log" 2>&1
[[ $(grep -c "| setting | tgmm | em | spectral | oracle | lloyd |" "$WORK/ev.v.log") -ge 4 ]] && grep -q "^| K=\[4\] N=48 |" "$WORK/ev.v.log" &&
  ok "eval --verbose: the summary tables, each once" || fail "no summary table with --verbose"
if /usr/bin/python3 - "$WORK"/ev.{1,2,3}.h5 <<'PY'
import sys, h5py, numpy as np
fs = [h5py.File(p, "r") for p in sys.argv[1:]]
f = fs[0]
R = 4 * 6 * 5
names = ["setting", "task", "method", "K", "N", "status", "iterations", "loglik", "l2_means",
         "l2_weights", "accuracy", "misclustering", "seconds"]
for n in names:
    assert f[n].shape == (R,), (n, f[n].shape)
for g in fs[1:]:  # identical except the timings
    for n in names:
        if n != "seconds":
            a, b = f[n][()], g[n][()]
            assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), n
meth = f["method"][()].astype(str)
assert list(meth[:5]) == ["tgmm", "em", "spectral", "oracle", "lloyd"]
assert list(f["settings/label"][()].astype(str)) == ["K=[2] N=16", "K=[2] N=48", "K=[4] N=16", "K=[4] N=48"]
assert list(f["settings/N"][()]) == [16, 48, 16, 48] and f["settings/N"].dtype.kind == "i"  # numbers
s = f["setting"][()]
assert np.all(f["K"][()] == np.where(s < 2, 2, 4)) and np.all(f["N"][()] == np.where(s % 2, 48, 16))
assert np.all(f["status"][()].astype(str) == "ok")
l2 = f["l2_means"][()]
em, orc = l2[meth == "em"].mean(), l2[meth == "oracle"].mean()
assert orc <= em + 1e-12, (orc, em)
acc = f["accuracy"][()]
assert np.all((acc >= 0) & (acc <= 1))
assert np.all(np.isfinite(f["loglik"][()][meth != "lloyd"]))  # Lloyd: -inf when a cluster is empty
# common random numbers: task i of N=16 and N=48 share the first 16 samples -> same truth
# eval.save_predictions: every row's mixture in the method's own order, zero beyond K
pw, pm = f["pred_weights"][()], f["pred_means"][()]
assert pw.shape == (R, 4) and pm.shape == (R, 4, 8), (pw.shape, pm.shape)
assert "pred_scales" not in f  # isotropic settings, isotropic model
K = f["K"][()]
for r in range(R):
    assert np.all(pw[r, K[r]:] == 0) and np.all(pm[r, K[r]:] == 0), r
    assert abs(pw[r, :K[r]].sum() - 1) < 1e-6, (r, pw[r])
for g in fs[1:]:
    assert np.array_equal(g["pred_means"][()], pm) and np.array_equal(g["pred_weights"][()], pw)
print("eval layout ok; mean l2: em %.3g oracle %.3g" % (em, orc))
PY
then ok "rows identical across rank counts, layout, oracle <= em"; else fail "eval results"; fi

# tgmm report: tables agree with the rows; files written; failures counted, not dropped.
if "$TGMM_BIN" report --data "$WORK/ev.2.h5" --out "$WORK/rep" >"$WORK/rep.log" 2>&1; then
  ok "report ran"
else
  fail "report failed"; cat "$WORK/rep.log"
fi
for e in md csv tex; do [[ -s $WORK/rep.$e ]] && ok "rep.$e written" || fail "rep.$e missing"; done
if command -v gnuplot >/dev/null; then [[ -s $WORK/rep.l2_means.png ]] && ok "png plot" || fail "no png plot"; fi
ls "$WORK"/*.tmp >/dev/null 2>&1 && fail "temporary files left behind: $(ls "$WORK"/*.tmp)" || ok "no temporary file left (outputs renamed into place)"
if /usr/bin/python3 - "$WORK/ev.2.h5" "$WORK/rep.csv" <<'PY'
import sys, csv, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
meth = f["method"][()].astype(str); st = f["status"][()].astype(str); s = f["setting"][()]
rows = list(csv.DictReader(open(sys.argv[2])))
assert len(rows) == 4 * 5 * 7, len(rows)  # settings x methods x metrics
for r in rows:
    sel = (s == int(r["setting"])) & (meth == r["method"])
    v = f[r["metric"]][()][sel]
    good = np.isfinite(v) & (st[sel] == "ok")
    assert int(r["n_ok"]) == good.sum() and int(r["n_other"]) == (~good).sum(), r
    if good.sum():
        assert abs(float(r["mean"]) - v[good].mean()) <= 1e-12 * max(1, abs(v[good].mean())), r
    if good.sum() > 1:
        assert abs(float(r["sd"]) - v[good].std(ddof=1)) <= 1e-9 * max(1, v[good].std()), r
print("report csv matches the rows")
PY
then ok "report statistics match numpy"; else fail "report statistics"; fi
"$TGMM_BIN" report --data "$WORK/nope.h5" >/dev/null 2>&1; [[ $? == 2 ]] && ok "report on a missing file exits 2" || fail "report missing file"

expect2() { # what, pattern, args...
  local what="$1" pat="$2"; shift 2
  rm -f "$WORK/bad.h5"*
  mpi 2 "$TGMM_BIN" eval "$@" --out "$WORK/bad.h5" >"$WORK/bad.log" 2>&1; local rc=$?
  if [[ $rc == 2 ]] && grep -Eq -- "$pat" "$WORK/bad.log" && ! ls "$WORK"/bad.h5* >/dev/null 2>&1; then
    ok "$what"; else fail "$what (rc $rc)"; cat "$WORK/bad.log"; fi
}
expect2 "tgmm without --checkpoint" "--checkpoint" "${cfg[@]}" "eval.methods=[tgmm, em]"
expect2 "d mismatch" "d = 4.*d = 8" "${cfg[@]}" "eval.grid={d: [4]}" --checkpoint "$ck"
expect2 "K without read-out" "no read-out for K = 7" "${cfg[@]}" "eval.grid={K: [7]}" --checkpoint "$ck"
expect2 "missing checkpoint" "nope.h5" "${cfg[@]}" --checkpoint "$WORK/nope.h5"
mkdir -p "$WORK/empty"
expect2 "run dir without checkpoints" "without checkpoints" "${cfg[@]}" --checkpoint "$WORK/empty"
finish
