#!/usr/bin/env bash
# pretrained_table.sh — the shipped mixture model (configs/pretrained/tgmm_laptop.h5), EM started at
# its estimate (tgmm_em), EM (the paper's: random start, one run), the strong EM em_kpp10
# (k-means++ start, 10 restarts), spectral and the oracle, side by side in one `tgmm eval`, on
# 128 evaluation tasks per K (d = 8, N = 64, K = 2..5; never training or held-out tasks): mean ±
# sd of the l2 error of means per K, the table of configs/pretrained/README.md and README.
#
# usage: tests/bench/pretrained_table.sh [RANKS (default 2)] [TASKS per K (default 128)]
# env:   TGMM_BUILD (default ./build), PYTHON (default /usr/bin/python3)
set -euo pipefail
NP=${1:-2}
T=${2:-128}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${TGMM_BUILD:-$SRC/build}
PY=${PYTHON:-/usr/bin/python3}
BIN=$BUILD/tgmm
MODEL=$SRC/configs/pretrained/tgmm_laptop.h5
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); OpenBLAS core $("$BIN" --version | sed -n 's/.*OpenBLAS core //p')"
echo "model: $MODEL (step $(h5dump -a step "$MODEL" | sed -n 's/.*(0): //p'))"
run() { mpirun --oversubscribe --bind-to none -np "$NP" "$BIN" eval "$SRC/configs/laptop.yaml" \
          eval.tasks_per_setting="$T" "eval.grid.K=[2,3,4,5]" "$@" >"$TMP/log" 2>&1 || { cat "$TMP/log"; exit 1; }; }
run "eval.methods=[tgmm,tgmm_em,em,em_kpp10,spectral,oracle]" --checkpoint "$MODEL" --out "$TMP/a.h5"
"$PY" - "$TMP/a.h5" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
A = (f["method"][()].astype(str), f["status"][()].astype(str), f["K"][()], f["l2_means"][()])
meths = ["tgmm", "tgmm_em", "em", "em_kpp10", "spectral", "oracle"]
names = {"tgmm": "TGMM (shipped)", "tgmm_em": "TGMM + EM", "em": "EM (paper)",
         "em_kpp10": "EM, k-means++ x 10", "spectral": "spectral", "oracle": "oracle (EM from the truth)"}
print("\nl2 error of means, mean ± sd over the tasks (tasks not ok in brackets); one eval\n")
print("| K | " + " | ".join(names[m] for m in meths) + " | TGMM / EM |")
print("|---|" + "---|" * (len(meths) + 1))
for k in sorted(set(A[2])):
    cells, mean = [], {}
    for meth in meths:
        m, st, K, l2 = A
        sel = (m == meth) & (K == k)
        ok = sel & (st == "ok") & np.isfinite(l2)
        mean[meth] = l2[ok].mean()
        bad = int(sel.sum() - ok.sum())
        cells.append(f"{l2[ok].mean():.3f} ± {l2[ok].std(ddof=1):.2f}" + (f" [{bad}]" if bad else ""))
    print(f"| {k} | " + " | ".join(cells) + f" | {mean['tgmm'] / mean['em']:.2f} |")
print(f"\n({int(((A[0] == 'tgmm') & (A[2] == A[2][0])).sum())} tasks per K)")
PY
