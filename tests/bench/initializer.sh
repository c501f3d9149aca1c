#!/usr/bin/env bash
# initializer.sh — TGMM as an initializer: l2 error of the means (and misclustering) against
# seconds per task for tgmm, tgmm_em (EM started at TGMM's estimate), tgmm_em_kpp (EM from TGMM's
# estimate and from one k-means++ start, the better kept), tgmm_em_kpp10 (TGMM's start and nine
# k-means++ starts: the strong EM's budget of ten EM runs, one of them from TGMM), tgmm_em_kpp3
# (TGMM's start and two k-means++ starts) beside em_kpp3 (three k-means++ starts: the same
# budget of three EM runs without TGMM), the paper's EM, EM k-means++ x 1 and x 10, spectral and
# the oracle (and, paired on the same tasks, tgmm, tgmm_em, tgmm_em_kpp, tgmm_em_kpp3 and
# tgmm_em_kpp10 against the strong EM, and tgmm_em_kpp3 against em_kpp3: mean difference,
# Wilcoxon signed-rank p), every method in ONE `tgmm eval` per regime (one rank, one
# thread), so the seconds are comparable side by side even on a loaded machine (compare ratios,
# not absolute times, when other jobs share the cores):
#   default   d = 8, N = 64, K = 2..5 (the shipped model's setting; the plot shows K = 5)
#   low_sep   the same, K = 5, mean_scale 0.5 (means in U[-2.5, 2.5]^8: closer clusters)
#   n512      K = 5, N = 512 (EM's cost grows with N; the model was trained at N <= 64)
#   k_gt_d    d = 2, K = 5 (K > d: spectral is not applicable), with a model trained at d = 2,
#             K = 5 (MODEL_D2, default the shipped configs/pretrained/tgmm_d2_k5.h5; MODEL_D2=
#             empty: only the baselines run)
#   small_n   the same at N = 32 (about 6 samples per component; the d = 2 model was trained on
#             N_i ~ U{32..64}): the likelihood's best optimum is often not near the truth; then
#             its paired verdicts again on CONFIRM (default 1000) fresh tasks (seed 4242)
# Prints the CPU, the OpenBLAS core and the load, a Markdown table per regime (l2 and
# misclustering: mean ± 95% interval of the mean over the tasks; seconds per task: mean and
# median), and writes PREFIX.png (log-log, one point per method present, K = 5: y = mean l2 of
# means with its 95% interval, x = median seconds per task with the interquartile range of the
# tasks' seconds, robust to the preemptions of a shared machine), PREFIX.csv, .gp, .dat.
#
# usage: tests/bench/initializer.sh [TASKS per setting (default 128)] [PREFIX (default ./initializer)]
# env:   TGMM_BUILD (default ./build), PYTHON (default /usr/bin/python3), MODEL (default the
#        shipped configs/pretrained/tgmm_laptop.h5), MODEL_D2 (a d = 2, K = 5 model; default the
#        shipped configs/pretrained/tgmm_d2_k5.h5), CONFIRM (tasks of the confirmation; 1000)
set -euo pipefail
T=${1:-128}
PREFIX=${2:-$PWD/initializer}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${TGMM_BUILD:-$SRC/build}
PY=${PYTHON:-/usr/bin/python3}
BIN=$BUILD/tgmm
MODEL=${MODEL:-$SRC/configs/pretrained/tgmm_laptop.h5}
MODEL_D2=${MODEL_D2-$SRC/configs/pretrained/tgmm_d2_k5.h5}
CONFIRM=${CONFIRM:-1000}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); $(nproc) cores;" \
     "OpenBLAS core $("$BIN" --version | sed -n 's/.*OpenBLAS core //p'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "model: $MODEL; $T tasks per setting; one rank, one thread; $(date -u +%F)"
M="eval.methods=[tgmm, tgmm_em, tgmm_em_kpp, tgmm_em_kpp3, tgmm_em_kpp10, em, em_kpp, em_kpp3, em_kpp10, spectral, oracle]"
V="eval.variants={tgmm_em_kpp10: {method: tgmm_em, em.init: kmeans++, em.restarts: 10},
  tgmm_em_kpp3: {method: tgmm_em, em.init: kmeans++, em.restarts: 3},
  em_kpp3: {method: em, em.init: kmeans++, em.restarts: 3}}"
run() { # regime, args...
  local r="$1"; shift
  "$BIN" eval "$SRC/configs/laptop.yaml" eval.tasks_per_setting="$T" "$@" --out "$TMP/$r.h5" \
    >"$TMP/$r.log" 2>&1 || { cat "$TMP/$r.log"; exit 1; }
}
run default "eval.grid.K=[2,3,4,5]" "$M" "$V" --checkpoint "$MODEL"
run low_sep "eval.grid.K=[5]" mean_scale=0.5 "$M" "$V" --checkpoint "$MODEL"
run n512 "eval.grid.K=[5]" N=512 "$M" "$V" --checkpoint "$MODEL"
if [[ -n ${MODEL_D2:-} ]]; then
  run k_gt_d "eval.grid.K=[5]" d=2 "$M" "$V" --checkpoint "$MODEL_D2"
  run small_n "eval.grid.K=[5]" d=2 N=32 "$M" "$V" --checkpoint "$MODEL_D2"
  # the small_n verdict again on CONFIRM fresh tasks (another seed): one regime of five, four
  # paired tests in each, so one p below 0.05 alone could be chance
  T=$CONFIRM run confirm "eval.grid.K=[5]" d=2 N=32 seed=4242 \
    "eval.methods=[tgmm, tgmm_em, em_kpp10, oracle]" --checkpoint "$MODEL_D2"
else
  run k_gt_d "eval.grid.K=[5]" d=2 "eval.methods=[em, em_kpp, em_kpp10, oracle]"
  run small_n "eval.grid.K=[5]" d=2 N=32 "eval.methods=[em, em_kpp, em_kpp10, oracle]"
fi
"$PY" - "$TMP" "$PREFIX" <<'PY'
import sys, os, subprocess, h5py, numpy as np
from scipy.stats import wilcoxon
tmp, prefix = sys.argv[1], sys.argv[2]
METHODS = ["tgmm", "tgmm_em", "tgmm_em_kpp", "tgmm_em_kpp3", "tgmm_em_kpp10", "em", "em_kpp",
           "em_kpp3", "em_kpp10", "spectral", "oracle"]
LABEL = {"tgmm": "TGMM", "tgmm_em": "TGMM + EM", "tgmm_em_kpp": "TGMM + EM, or k-means++ + EM",
         "tgmm_em_kpp3": "TGMM + EM, or 2 k-means++ + EM",
         "tgmm_em_kpp10": "TGMM + EM, or 9 k-means++ + EM", "em": "EM (paper: 1 random start)",
         "em_kpp": "EM k-means++ x 1", "em_kpp3": "EM k-means++ x 3", "em_kpp10": "EM k-means++ x 10",
         "spectral": "spectral",
         "oracle": "oracle (EM from the truth)"}
REGIMES = [("default", "d = 8, N = 64"), ("low_sep", "d = 8, N = 64, mean_scale 0.5"),
           ("n512", "d = 8, N = 512"), ("k_gt_d", "d = 2, N = 64 (K > d)"),
           ("small_n", "d = 2, N = 32 (K > d, few samples)")]
def verdict(dlt, p, x, who):
    """The paired rule: a verdict only when p < 0.05 and the mean and the count of tasks agree."""
    better, worse = int((dlt < 0).sum()), int((dlt > 0).sum())
    if not p < 0.05:
        return "no significant difference"
    if (dlt.mean() < 0) != (better > worse):
        return "no verdict: the mean and the count of tasks point in opposite directions (heavy tails)"
    return f"{x} beats {who}" if dlt.mean() < 0 else f"{who} beats {x}"
def ci(v):
    v = v[np.isfinite(v)]
    return (v.mean(), 1.96 * v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else (np.nan, np.nan)
csv = ["regime,K,method,tasks,l2_means,l2_means_ci95,misclustering,misclustering_ci95,seconds,"
       "seconds_median,seconds_q25,seconds_q75"]
for reg, desc in REGIMES:
    f = h5py.File(os.path.join(tmp, reg + ".h5"), "r")
    m = f["method"][()].astype(str); st = f["status"][()].astype(str); K = f["K"][()]
    have = [x for x in METHODS if x in set(m)]
    for k in sorted(set(K)):
        o = (m == "oracle") & (K == k)
        orc = f["l2_means"][()][o].mean()
        print(f"\n{reg} ({desc}), K = {k}: mean ± 95% interval over {o.sum()} tasks\n")
        print("| method | l2 of means | x oracle | misclustering | seconds per task (mean; median) "
              "| x EM k-means++ x 10 (means; medians) | not ok |")
        print("|---|---|---|---|---|---|---|")
        s10m = np.median(f["seconds"][()][(m == "em_kpp10") & (K == k)])
        s10 = f["seconds"][()][(m == "em_kpp10") & (K == k)].mean()
        for x in have:
            sel = (m == x) & (K == k)
            l2, l2c = ci(f["l2_means"][()][sel]); mc, mcc = ci(f["misclustering"][()][sel])
            secs = f["seconds"][()][sel]
            sec, med, q25, q75 = secs.mean(), *np.percentile(secs, [50, 25, 75])
            bad = int((st[sel] != "ok").sum())
            print(f"| {LABEL[x]} | {l2:.4f} ± {l2c:.4f} | {l2 / orc:.2f} | {mc:.4f} ± {mcc:.4f} | "
                  f"{sec * 1e6:.0f}; {med * 1e6:.0f} us | {sec / s10:.2f}; {med / s10m:.2f} | {bad} |")
            csv.append(f"{reg},{k},{x},{sel.sum()},{l2!r},{l2c!r},{mc!r},{mcc!r},{sec!r},{med!r},"
                       f"{q25!r},{q75!r}")
        # paired on the same tasks (rows of a task are in method order): TGMM's starts vs the strong EM
        # (and TGMM + 2 k-means++ starts against 3 k-means++ starts: the same three EM runs)
        pairs = [(x, "em_kpp10") for x in ["tgmm", "tgmm_em", "tgmm_em_kpp", "tgmm_em_kpp3",
                                           "tgmm_em_kpp10"]] + [("tgmm_em_kpp3", "em_kpp3")]
        for x, y in pairs:
            if x not in have or y not in have:
                continue
            v = f["l2_means"][()][(m == x) & (K == k)]
            ref = f["l2_means"][()][(m == y) & (K == k)]
            dlt = v - ref
            p = wilcoxon(v, ref).pvalue if np.any(dlt != 0) else 1.0
            who = "the strong EM" if y == "em_kpp10" else LABEL[y]
            print(f"\npaired, {LABEL[x]} - {LABEL[y]} (l2 of means): mean {dlt.mean():+.4f}, "
                  f"better on {(dlt < 0).sum()}, worse on {(dlt > 0).sum()} of {len(dlt)} tasks, "
                  f"Wilcoxon p = {p:.2g}: {verdict(dlt, p, LABEL[x], who)}")
conf = os.path.join(tmp, "confirm.h5")
if os.path.exists(conf):
    f = h5py.File(conf, "r")
    m = f["method"][()].astype(str)
    print(f"\nconfirmation of small_n on {(m == 'oracle').sum()} fresh tasks (seed 4242), paired "
          "against EM k-means++ x 10:")
    for metric in ("l2_means", "misclustering"):
        v_all = f[metric][()]
        ref = v_all[m == "em_kpp10"]
        for x in ("tgmm", "tgmm_em", "oracle"):
            v = v_all[m == x]
            dlt = v - ref
            p = wilcoxon(v, ref).pvalue if np.any(dlt != 0) else 1.0
            print(f"- {metric}, {LABEL[x]}: {v.mean():.4f} against {ref.mean():.4f} (mean "
                  f"{dlt.mean():+.4f}), better on {(dlt < 0).sum()}, worse on {(dlt > 0).sum()}, "
                  f"Wilcoxon p = {p:.2g}: {verdict(dlt, p, LABEL[x], 'the strong EM')}")
open(prefix + ".csv", "w").write("\n".join(csv) + "\n")
# the plot: one panel per regime at K = 5, x = seconds per task, y = l2 of means, log-log
rows = [r.split(",") for r in csv[1:]]
dat = prefix + ".dat"
present = {}
with open(dat, "w") as d:
    for reg, _ in REGIMES:
        present[reg] = []
        for x in METHODS:
            r = [q for q in rows if q[0] == reg and q[1] == "5" and q[2] == x and q[4] != "nan"]
            if r:
                q = r[0]
                present[reg].append(x)
                d.write(f"{x} {q[9]} {q[10]} {q[11]} {q[4]} {q[5]}\n")
        d.write("\n\n")
pts = [5, 7, 6, 10, 8, 9, 11, 12, 13, 15, 4]
cols = ["#000000", "#1b9e77", "#a6761d", "#e6ab02", "#1f78b4", "#d95f02", "#7570b3", "#a6cee3",
        "#e7298a", "#66a61e", "#636363"]
gp = [f"set terminal pngcairo size 2400,1100 font 'Sans,11'", f"set output '{prefix}.png'",
      "set multiplot layout 2,3 title 'l2 error of means against seconds per task, K = 5, one rank, "
      "one thread (y: mean, 95% interval; x: median, interquartile range of the tasks)'",
      "set logscale xy", "set format x '10^{%L}'", "set format y '10^{%L}'",
      "set xlabel 'seconds per task (log)'", "set ylabel 'l2 error of means (log)'",
      "set grid", "set key outside right top font ',9'", "set offsets graph 0.05, graph 0.05, graph 0.1, graph 0.05"]
for i, (reg, desc) in enumerate(REGIMES):
    gp.append("set title '" + desc.replace("_", "\\_") + "'")
    plots = []
    for n, x in enumerate(present[reg]):
        j = METHODS.index(x)
        plots.append(f"'{dat}' index {i} every ::{n}::{n} using 2:5:3:4:($5-$6 > 0 ? $5-$6 : $5/10):($5+$6) "
                     f"with xyerrorbars pt {pts[j]} ps 1.6 lw 1.5 lc rgb '{cols[j]}' title '{LABEL[x]}'")
    gp.append("plot " + ", \\\n     ".join(plots))
gp.append("unset multiplot")
open(prefix + ".gp", "w").write("\n".join(gp) + "\n")
subprocess.run(["gnuplot", prefix + ".gp"], check=True)
print(f"\nwrote {prefix}.png, {prefix}.csv, {prefix}.gp, {prefix}.dat")
PY
