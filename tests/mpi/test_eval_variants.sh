#!/usr/bin/env bash
# Method variants and the methods beyond the paper in one `tgmm eval` (the shipped laptop model):
#  1. tgmm, tgmm_em, the paper's em, the built-in strong EM em_kpp10, a variant of eval.variants,
#     spectral, oracle and truth side by side, the same rows on 1 and 3 ranks; a variant's rows
#     are those of a plain eval of its method with its keys set; the variants stay in the results
#     file's config; truth has zero parameter error and the oracle's log-likelihood is >= the
#     truth's (EM from the truth only climbs); the names reach the report, the merged report and
#     the --rows CSV;
#  2. tgmm_em started at TGMM's stored prediction (eval.save_predictions) equals a plain EM run
#     from those parameters (the oracle of a dataset file whose "truth" is the prediction), bit
#     for bit, on 1 and 3 ranks (started at the truth it is the oracle: tests/unit/test_em.c);
#  3. wrong variants are refused before anything runs (exit 2, no output).
source "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1
ck="$TGMM_SRC/configs/pretrained/tgmm_laptop.h5"
base=("$TGMM_SRC/configs/laptop.yaml" "eval.grid={K: [3, 5]}" eval.tasks_per_setting=6 eval.chunk=4)
meth="eval.methods=[tgmm, tgmm_em, em, em_kpp10, em_k3, spectral, oracle, truth]"
var="eval.variants={em_k3: {method: em, em: {init: kmeans++, restarts: 3}}}"
for n in 1 3; do
  if mpi $n "$TGMM_BIN" eval "${base[@]}" "$meth" "$var" eval.save_predictions=true \
      --checkpoint "$ck" --verbose --out "v$n.h5" >"v$n.log" 2>&1; then ok "eval of 8 columns on $n rank(s)"
  else fail "eval of 8 columns on $n rank(s)"; cat "v$n.log"; fi
done
mpi 1 "$TGMM_BIN" eval "${base[@]}" "eval.methods=[em]" em.init=kmeans++ em.restarts=10 eval.save_predictions=true \
  --out plain10.h5 >plain10.log 2>&1 || { fail "plain eval (em k-means++ x 10)"; cat plain10.log; }
mpi 1 "$TGMM_BIN" eval "${base[@]}" "eval.methods=[em]" em.init=kmeans++ em.restarts=3 eval.save_predictions=true \
  --out plain3.h5 >plain3.log 2>&1 || { fail "plain eval (em k-means++ x 3)"; cat plain3.log; }
grep -q "| setting | tgmm | tgmm_em | em | em_kpp10 | em_k3 | spectral | oracle | truth |" v1.log &&
  ok "summary names every column" || fail "summary lacks the columns"
if /usr/bin/python3 - <<'PY'
import h5py, numpy as np
a, b = h5py.File("v1.h5", "r"), h5py.File("v3.h5", "r")
M = ["tgmm", "tgmm_em", "em", "em_kpp10", "em_k3", "spectral", "oracle", "truth"]
meth = a["method"][()].astype(str)
assert list(meth[:8]) == M, meth[:8]
for n in ["method", "status", "iterations", "loglik", "l2_means", "l2_weights", "accuracy",
          "pred_weights", "pred_means"]:
    x, y = a[n][()], b[n][()]
    assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), n
assert np.all(a["status"][()].astype(str) == "ok")
for name, plain in [("em_kpp10", "plain10.h5"), ("em_k3", "plain3.h5")]:
    p = h5py.File(plain, "r")
    for n in ["iterations", "loglik", "l2_means", "l2_weights", "accuracy", "pred_means"]:
        assert np.array_equal(a[n][()][meth == name], p[n][()]), (name, n)
ll, l2 = a["loglik"][()], a["l2_means"][()]
assert np.all(l2[meth == "truth"] == 0) and np.all(a["l2_weights"][()][meth == "truth"] == 0)
assert np.all(a["iterations"][()][meth == "truth"] == 0)
assert np.all(ll[meth == "oracle"] >= ll[meth == "truth"] - 1e-12)
assert np.all(a["seconds"][()][meth == "tgmm_em"] >= a["seconds"][()][meth == "tgmm"])
assert l2[meth == "em_kpp10"].mean() < l2[meth == "em"].mean()
cfg = a.attrs["config"]
cfg = cfg.decode() if isinstance(cfg, bytes) else cfg
assert "variants: {em_k3: {method: em, em.init: kmeans++, em.restarts: 3}}" in cfg, cfg
PY
then ok "1 and 3 ranks agree; variants = plain evals of their keys; truth and oracle; config keeps the variants"
else fail "the rows of the variants"; fi
# the results file's config reloads (tgmm check on the stored text)
/usr/bin/python3 -c "import h5py; c=h5py.File('v1.h5','r').attrs['config']; open('stored.yaml','w').write(c.decode() if isinstance(c,bytes) else c)"
"$TGMM_BIN" check stored.yaml >/dev/null 2>check.log && ok "stored config with eval.variants reloads" ||
  { fail "stored config reload"; cat check.log; }
if "$TGMM_BIN" report --data v1.h5 --out rep --rows rows.csv >rep.log 2>&1 &&
   "$TGMM_BIN" report --data v1.h5 --data plain10.h5 --out merged --rows mrows.csv >merged.log 2>&1; then
  grep -q "em_kpp10" rep.md && grep -q "em_k3" rep.md && grep -q ",em_kpp10," rows.csv &&
    grep -q ",tgmm_em," rows.csv && grep -q ",truth," rows.csv && grep -q "em_kpp10" merged.md &&
    grep -q ",em_kpp10," mrows.csv && ok "report, merged report and --rows name the variants" ||
    fail "a report lacks a variant's name"
else fail "report"; cat rep.log merged.log; fi

# 2. tgmm_em from the stored prediction == EM from those parameters (the oracle of a file whose
#    truth is the prediction), 1 and 3 ranks
printf 'd: 8\nN: 64\nK: [2, 3, 4, 5]\n' >data.yaml  # no eval.grid: --data makes the settings
"$TGMM_BIN" gen data.yaml "K=[2, 4, 5]" tasks=15 --out tasks.h5 >gen.log 2>&1 || { fail "gen"; cat gen.log; }
for n in 1 3; do
  mpi $n "$TGMM_BIN" eval data.yaml --data tasks.h5 "eval.methods=[tgmm, tgmm_em]" \
    eval.save_predictions=true eval.chunk=2 --checkpoint "$ck" --out te$n.h5 >te$n.log 2>&1 ||
    { fail "eval --data tgmm_em ($n ranks)"; cat te$n.log; }
done
/usr/bin/python3 - <<'PY' || fail "writing the prediction as a dataset's truth"
import h5py, numpy as np
e, t = h5py.File("te1.h5", "r"), h5py.File("tasks.h5", "r")
meth, task = e["method"][()].astype(str), e["task"][()]
tg = meth == "tgmm"
T = t["K"].shape[0]
w = np.zeros((T, t["weights"].shape[1])); m = np.zeros((T,) + t["means"].shape[1:])
Q = w.shape[1]
w[task[tg]] = e["pred_weights"][()][tg][:, :Q]; m[task[tg]] = e["pred_means"][()][tg][:, :Q]
with h5py.File("pred_tasks.h5", "w") as o:
    for n in ["x", "offsets", "K"]: o[n] = t[n][()]
    o["weights"], o["means"] = w, m
PY
for n in 1 3; do
  mpi $n "$TGMM_BIN" eval data.yaml --data pred_tasks.h5 "eval.methods=[oracle]" \
    eval.save_predictions=true eval.chunk=3 --out from$n.h5 >from$n.log 2>&1 ||
    { fail "EM from the predictions ($n ranks)"; cat from$n.log; }
done
if /usr/bin/python3 - <<'PY'
import h5py, numpy as np
for n in (1, 3):
    e, p = h5py.File(f"te{n}.h5", "r"), h5py.File(f"from{n}.h5", "r")
    meth = e["method"][()].astype(str)
    te = meth == "tgmm_em"
    order = np.argsort(e["task"][()][te], kind="stable")
    porder = np.argsort(p["task"][()], kind="stable")
    assert te.sum() == 15 and len(porder) == 15
    for k in ["loglik", "iterations", "pred_weights", "pred_means", "status"]:
        x, y = e[k][()][te][order], p[k][()][porder]
        assert np.array_equal(x, y), (n, k)
    assert np.all(e["status"][()][te].astype(str) == "ok")
    assert np.all(e["iterations"][()][te] > 0)
PY
then ok "tgmm_em from the stored prediction == EM from those parameters, bit for bit (1 and 3 ranks)"
else fail "tgmm_em differs from EM started at the stored prediction"; fi

# 2b. tgmm_em_kpp (tgmm_em with em.restarts 2, em.init k-means++) = the better of EM from TGMM's
#     estimate and EM from k-means++'s first start (em_kpp), task by task, on 1 and 3 ranks.
for n in 1 3; do
  mpi $n "$TGMM_BIN" eval "${base[@]}" "eval.methods=[tgmm_em, em_kpp, tgmm_em_kpp]" \
    --checkpoint "$ck" --out kpp$n.h5 >kpp$n.log 2>&1 || { fail "eval tgmm_em_kpp ($n ranks)"; cat kpp$n.log; }
done
if /usr/bin/python3 - <<'PY'
import h5py, numpy as np
a, b = h5py.File("kpp1.h5", "r"), h5py.File("kpp3.h5", "r")
meth = a["method"][()].astype(str)
for n in ["loglik", "l2_means", "iterations"]:
    assert np.array_equal(a[n][()], b[n][()]), n
ll, l2, it = a["loglik"][()], a["l2_means"][()], a["iterations"][()]
te, kp, both = (meth == m for m in ["tgmm_em", "em_kpp", "tgmm_em_kpp"])
first = ll[te] >= ll[kp]
assert np.array_equal(ll[both], np.where(first, ll[te], ll[kp]))
assert np.array_equal(l2[both], np.where(first, l2[te], l2[kp]))
assert np.array_equal(it[both], np.where(first, it[te], it[kp]))
assert first.any(), "every task from k-means++: the TGMM start is never kept"
print(f"TGMM's start kept on {first.sum()} of {first.size} tasks")
PY
then ok "tgmm_em_kpp = the better of tgmm_em and em_kpp per task (1 and 3 ranks)"
else fail "tgmm_em_kpp is not the better of its two starts"; fi

# 3. refused before anything runs
bad() { # what, args...
  local what="$1"; shift
  "$TGMM_BIN" eval "$TGMM_SRC/configs/laptop.yaml" "$@" --checkpoint "$ck" --out bad.h5 >bad.log 2>&1
  local rc=$?
  [[ $rc == 2 && ! -e bad.h5 ]] && grep -q "error" bad.log && ok "refused: $what" ||
    { fail "not refused (rc $rc): $what"; cat bad.log; }
}
bad "unknown variant" "eval.methods=[em_nope]"
bad "variant named after another method" "eval.variants={lloyd_x: {method: em}}"
bad "variant without a method" "eval.variants={em_x: {em.restarts: 2}}"
bad "variant setting a task key" "eval.variants={em_x: {method: em, K: [2]}}"
bad "variant value out of range" "eval.variants={em_x: {method: em, em.restarts: 0}}"
finish
