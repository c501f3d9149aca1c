#!/usr/bin/env bash
# model_compare.sh — is a candidate laptop model better than the shipped one, at every K?
# One `tgmm eval` per model on the same evaluation tasks (d = 8, N = 64, K = 2..5, TASKS per K),
# with tgmm_em, the paper's EM, EM k-means++ x 10, spectral and the oracle beside them; twice:
# on tgmm's own evaluation tasks and on tasks drawn by an independent NumPy sampler of the
# paper's family (means U[-5, 5]^d redrawn while two have cosine >= 0.8, weights U[0.2, 0.8]
# sorted and normalised, N(mu, I) samples), read through `eval --data`. Prints per K the mean
# l2 of means of both models, the candidate paired against the shipped model (mean difference
# and two-sided Wilcoxon p over the same tasks) and its ratio to spectral and to the EMs.
#
# usage: tests/bench/model_compare.sh CANDIDATE.h5 [TASKS per K (128)] [RANKS (2)]
# env:   TGMM_BUILD (default ./build), SHIPPED (default configs/pretrained/tgmm_laptop.h5)
set -euo pipefail
CAND=$(realpath "$1")
T=${2:-128}
NP=${3:-2}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${TGMM_BUILD:-$SRC/build}/tgmm
SHIPPED=$(realpath "${SHIPPED:-$SRC/configs/pretrained/tgmm_laptop.h5}")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "# $(date -u +%FT%TZ); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//');" \
  "OpenBLAS core $("$BIN" --version | sed -n 's/.*OpenBLAS core //p'); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# shipped: $SHIPPED; candidate: $CAND"
/usr/bin/python3 - "$TMP/indep.h5" "$T" <<'PY'
import sys, h5py, numpy as np
path, T = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(20261203)
d, N, Ks = 8, 64, [2, 3, 4, 5]
xs, zs, Kt, W, M = [], [], [], [], []
for t in range(T * len(Ks)):
    K = Ks[t % len(Ks)]
    while True:
        mu = rng.uniform(-5, 5, (K, d))
        u = mu / np.linalg.norm(mu, axis=1, keepdims=True)
        c = u @ u.T
        if (c[np.triu_indices(K, 1)] < 0.8).all():
            break
    w = np.sort(rng.uniform(0.2, 0.8, K)); w /= w.sum()
    z = rng.choice(K, N, p=w)
    xs.append(mu[z] + rng.standard_normal((N, d))); zs.append(z)
    Kt.append(K); W.append(np.pad(w, (0, 5 - K))); M.append(np.pad(mu, ((0, 5 - K), (0, 0))))
with h5py.File(path, "w") as f:
    f["x"] = np.concatenate(xs); f["z"] = np.concatenate(zs).astype(np.int32)
    f["offsets"] = np.arange(0, N * len(xs) + 1, N, dtype=np.int64)
    f["K"] = np.array(Kt, np.int32); f["weights"] = np.array(W); f["means"] = np.array(M)
    f["scales"] = np.ones((len(xs), 5, d))
PY
run() { # model out [args...]
  local model="$1" out="$2"; shift 2
  mpirun --oversubscribe --bind-to none -np "$NP" "$BIN" eval "$SRC/configs/laptop.yaml" \
    "eval.methods=[tgmm,tgmm_em,em,em_kpp10,spectral,oracle]" --checkpoint "$model" --out "$out" "$@" \
    >"$TMP/log" 2>&1 || { cat "$TMP/log"; exit 1; }
}
run "$SHIPPED" "$TMP/s_own.h5" eval.tasks_per_setting="$T" "eval.grid.K=[2,3,4,5]"
run "$CAND" "$TMP/c_own.h5" eval.tasks_per_setting="$T" "eval.grid.K=[2,3,4,5]"
run "$SHIPPED" "$TMP/s_ind.h5" --data "$TMP/indep.h5" "eval.grid={}"
run "$CAND" "$TMP/c_ind.h5" --data "$TMP/indep.h5" "eval.grid={}"
/usr/bin/python3 - "$TMP" <<'PY'
import sys, h5py, numpy as np
from scipy.stats import wilcoxon
tmp = sys.argv[1]
def load(p):
    f = h5py.File(p, "r")
    return dict(m=f["method"].asstr()[()], st=f["status"].asstr()[()], K=f["K"][()],
                task=f["task"][()], l2=f["l2_means"][()])
def col(r, meth, k):
    sel = (r["m"] == meth) & (r["K"] == k)
    order = np.argsort(r["task"][sel])
    v = np.where(r["st"][sel] == "ok", r["l2"][sel], np.nan)[order]
    return v
for tag, name in (("own", "tgmm's evaluation tasks"), ("ind", "independent NumPy sampler")):
    s, c = load(f"{tmp}/s_{tag}.h5"), load(f"{tmp}/c_{tag}.h5")
    print(f"\n{name}: mean l2 of means per K ({(s['m'] == 'tgmm').sum() // 4} tasks per K)\n")
    print("| K | shipped | candidate | candidate - shipped [p] | spectral | EM (paper) | EM k-means++ x 10 | oracle | candidate + EM | candidate / spectral | candidate / EM (paper) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for k in (2, 3, 4, 5):
        a, b = col(s, "tgmm", k), col(c, "tgmm", k)
        ok = np.isfinite(a) & np.isfinite(b)
        dd = b[ok] - a[ok]
        p = wilcoxon(dd).pvalue if (dd != 0).any() else 1.0
        mean = lambda r, m: np.nanmean(col(r, m, k))
        sp, em = mean(c, "spectral"), mean(c, "em")
        print(f"| {k} | {np.nanmean(a):.3f} | {np.nanmean(b):.3f} | {np.mean(b[ok] - a[ok]):+.3f} [{p:.2g}] | "
              f"{sp:.3f} | {em:.3f} | {mean(c, 'em_kpp10'):.3f} | {mean(c, 'oracle'):.3f} | "
              f"{mean(c, 'tgmm_em'):.3f} | {np.nanmean(b) / sp:.2f} | {np.nanmean(b) / em:.2f} |")
PY
