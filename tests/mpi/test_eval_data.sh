#!/usr/bin/env bash
# tgmm eval --data TASKS.h5 and eval.save_predictions:
#  - a `tgmm gen` file (anisotropic, ragged N, K in {2, 3}): one setting per K, row `task` = the
#    file's task index, K and N as in the file; the same file with 1 and 3 ranks;
#  - predictions: /pred_weights [R, Kmax], /pred_means and /pred_scales [R, Kmax, d], zero beyond
#    a row's K, in the method's own order (l2_means recomputed from them after a Hungarian
#    alignment matches; some EM rows are not in the truth's order);
#  - a file without truth datasets: rows ok, truth metrics NaN (not 0), log-likelihood finite;
#  - refused with exit 2 and no output: a grid key that redefines tasks, a grid over K or d that
#    disagrees with the file, the oracle without truth, a missing file;
#  - a grid over K (and d) that agrees with the file is ignored with one note.
source "$(dirname "$0")/lib.sh"
BASE=(d=3 "K=[2,3]" N=40 seed=5)
if ! "$TGMM_BIN" gen "${BASE[@]}" family=anisotropic tasks=14 ragged=true --out "$WORK/g.h5" >"$WORK/gen.log" 2>&1; then
  fail "gen"; cat "$WORK/gen.log"; finish
fi
MODEL=(model.n_layer=1 model.n_embd=16 model.n_head=2 model.n_task_embd=8 model.n_positions=64)
if ! "$TGMM_BIN" train "${BASE[@]}" "${MODEL[@]}" train.steps=2 train.batch_size=2 train.resume=never \
     train.run_dir="$WORK/run" >"$WORK/train.log" 2>&1; then
  fail "training a tiny model"; cat "$WORK/train.log"; finish
fi
EV=("${BASE[@]}" "${MODEL[@]}" family=anisotropic em.covariance=diag eval.chunk=3
    "eval.methods=[tgmm, em, oracle, spectral]" eval.save_predictions=true --checkpoint "$WORK/run")
for n in 1 3; do
  if mpi $n "$TGMM_BIN" eval "${EV[@]}" --data "$WORK/g.h5" --out "$WORK/e$n.h5" >"$WORK/e$n.log" 2>&1; then
    ok "eval --data with $n ranks"
  else fail "eval --data with $n ranks"; cat "$WORK/e$n.log"; finish; fi
done
if /usr/bin/python3 - "$WORK/g.h5" "$WORK/e1.h5" "$WORK/e3.h5" <<'PY'
import sys, h5py, numpy as np
from scipy.optimize import linear_sum_assignment
g, f, f3 = (h5py.File(p, "r") for p in sys.argv[1:])
T, M = 14, 4
R = T * M
Kf, off = g["K"][()], g["offsets"][()]
for n in f:
    if isinstance(f[n], h5py.Dataset) and n != "seconds":
        a, b = f[n][()], f3[n][()]
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), n
assert list(f["settings/label"][()].astype(str)) == ["K=[2]", "K=[3]"], f["settings/label"][()]
assert list(f["settings/K"][()]) == [2, 3] and f["settings/K"].dtype.kind == "i"
task, s, K, N = f["task"][()], f["setting"][()], f["K"][()], f["N"][()]
assert task.shape == (R,)
order = [t for k in (2, 3) for t in range(T) if Kf[t] == k]
assert list(task[::M]) == order, (task[::M], order)
assert np.all(K == Kf[task]) and np.all(N == np.diff(off)[task]) and np.all(s == (K == 3))
meth = f["method"][()].astype(str)
assert list(meth[:M]) == ["tgmm", "em", "oracle", "spectral"]
st = f["status"][()].astype(str)
pw, pm, ps = f["pred_weights"][()], f["pred_means"][()], f["pred_scales"][()]
assert pw.shape == (R, 3) and pm.shape == (R, 3, 3) and ps.shape == (R, 3, 3), (pw.shape, pm.shape)
l2 = f["l2_means"][()]
not_identity = 0
for r in range(R):
    k = K[r]
    assert np.all(pw[r, k:] == 0) and np.all(pm[r, k:] == 0) and np.all(ps[r, k:] == 0), r
    if st[r] != "ok":
        continue
    assert abs(pw[r, :k].sum() - 1) < 1e-6 and np.all(ps[r, :k] > 0), r
    true = g["means"][task[r], :k]
    cost = ((true[:, None, :] - pm[r, None, :k, :]) ** 2).sum(-1)
    ri, ci = linear_sum_assignment(cost)
    ref = ((pm[r, ci] - true[ri]) ** 2).mean()
    assert abs(ref - l2[r]) <= 1e-9 * max(1, ref), (r, ref, l2[r])
    not_identity += meth[r] == "em" and list(ci) != list(range(k))
assert not_identity > 0, "every EM row is in the truth's order: predictions look aligned"
print(f"{R} rows ok; {not_identity} EM rows in their own component order")
PY
then ok "rows, settings, task index, predictions (shapes, zero beyond K, own order)"; else fail "eval --data file"; fi

# A file without truth: only /x, /offsets, /K (as another tool might write).
/usr/bin/python3 - "$WORK/g.h5" "$WORK/bare.h5" <<'PY'
import sys, h5py
g, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "w")
for n in ("x", "offsets", "K"):
    b[n] = g[n][()]
PY
if mpi 2 "$TGMM_BIN" eval "${BASE[@]}" "eval.methods=[em, spectral, lloyd]" eval.chunk=4 --data "$WORK/bare.h5" \
     --out "$WORK/bare_e.h5" >"$WORK/bare.log" 2>&1; then
  ok "eval --data on a file without truth"
else fail "eval --data without truth"; cat "$WORK/bare.log"; fi
if /usr/bin/python3 - "$WORK/bare_e.h5" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
meth, st = f["method"][()].astype(str), f["status"][()].astype(str)
assert f["task"].shape == (42,)
for n in ("l2_means", "l2_weights", "accuracy", "misclustering"):
    assert np.all(np.isnan(f[n][()])), n
ok = st == "ok"
assert np.all(ok[meth == "em"]), st
assert np.all(np.isfinite(f["loglik"][()][(meth == "em")])), "em log-likelihood"
print("truth metrics NaN, log-likelihood finite")
PY
then ok "without truth: truth metrics NaN, not 0"; else fail "without truth"; fi

expect2() { # what, pattern, args...
  local what="$1" pat="$2"; shift 2
  rm -f "$WORK/bad.h5"*
  mpi 2 "$TGMM_BIN" eval "$@" --out "$WORK/bad.h5" >"$WORK/bad.log" 2>&1; local rc=$?
  if [[ $rc == 2 ]] && grep -Eq -- "$pat" "$WORK/bad.log" && ! ls "$WORK"/bad.h5* >/dev/null 2>&1; then
    ok "$what"; else fail "$what (rc $rc)"; cat "$WORK/bad.log"; fi
}
expect2 "--data with a grid key that redefines tasks" "eval.grid key 'N' would redefine" \
  "${BASE[@]}" "eval.methods=[em]" "eval.grid={N: [16, 32]}" --data "$WORK/g.h5"
expect2 "--data with a grid over K that lacks the file's K = 3" "eval.grid's K does not hold the file's K = 3" \
  "${BASE[@]}" "eval.methods=[em]" "eval.grid={K: [2, 5]}" --data "$WORK/g.h5"
expect2 "--data with a grid over d that disagrees" "eval.grid's d does not hold the file's d = 3" \
  "${BASE[@]}" "eval.methods=[em]" "eval.grid={d: [2]}" --data "$WORK/g.h5"
expect2 "--data: oracle without truth" "oracle.*no /weights and /means" \
  "${BASE[@]}" "eval.methods=[em, oracle]" --data "$WORK/bare.h5"
expect2 "--data: missing file" "nope.h5" "${BASE[@]}" "eval.methods=[em]" --data "$WORK/nope.h5"
if mpi 2 "$TGMM_BIN" eval "${BASE[@]}" "eval.methods=[em]" "eval.grid={em.max_iter: [1, 50]}" \
     --data "$WORK/g.h5" --out "$WORK/grid.h5" >"$WORK/grid.log" 2>&1 &&
   /usr/bin/python3 -c "
import h5py; f = h5py.File('$WORK/grid.h5', 'r')
assert list(f['settings/label'][()].astype(str)) == ['em.max_iter=1 K=[2]', 'em.max_iter=1 K=[3]', 'em.max_iter=50 K=[2]', 'em.max_iter=50 K=[3]'], f['settings/label'][()]
assert f['task'].shape == (28,)"; then
  ok "--data with a method grid: settings = grid points x K"
else fail "--data with a method grid"; cat "$WORK/grid.log"; fi
# a grid over K and d that agrees with the file (README's example: the quickstart grid is over K)
if mpi 2 "$TGMM_BIN" eval "${BASE[@]}" "eval.methods=[em]" "eval.grid={K: [2, 3, 4], d: [3], em.max_iter: [1, 50]}" \
     --data "$WORK/g.h5" --out "$WORK/gridK.h5" >"$WORK/gridK.log" 2>&1 &&
   [[ $(grep -c "eval.grid's K and d ignored: the file's tasks define them" "$WORK/gridK.log") == 1 ]] &&
   /usr/bin/python3 -c "
import h5py; f = h5py.File('$WORK/gridK.h5', 'r')
assert list(f['settings/label'].asstr()[()]) == ['em.max_iter=1 K=[2]', 'em.max_iter=1 K=[3]', 'em.max_iter=50 K=[2]', 'em.max_iter=50 K=[3]'], f['settings/label'][()]"; then
  ok "--data with a grid over K and d that agrees with the file: ignored with one note"
else fail "--data with an agreeing grid"; cat "$WORK/gridK.log"; fi
finish
