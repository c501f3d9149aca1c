#!/usr/bin/env bash
# pretrained_labels_table.sh — the shipped label-head model (configs/pretrained/
# tgmm_labels_laptop.h5: configs/paper/he_misclustering.yaml's set model at laptop scale, 4 layers
# x 64) against EM and Lloyd stopped after 1, 2, 4, 8, 16 and 100 iterations and the oracle, on
# TASKS evaluation tasks per setting (d = 8, N = 64, K = 2..5 x mean_scale 0.25, 0.5, 1; never
# training or held-out tasks): the mean misclustering rate per setting, the table of
# configs/pretrained/README.md and README.
#
# usage: tests/bench/pretrained_labels_table.sh [RANKS (default 2)] [TASKS per setting (default 128)]
# env:   TGMM_BUILD (default ./build), PYTHON (default /usr/bin/python3)
set -euo pipefail
NP=${1:-2}
T=${2:-128}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${TGMM_BUILD:-$SRC/build}
PY=${PYTHON:-/usr/bin/python3}
BIN=$BUILD/tgmm
MODEL=$SRC/configs/pretrained/tgmm_labels_laptop.h5
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); OpenBLAS core $("$BIN" --version | sed -n 's/.*OpenBLAS core //p')"
echo "model: $MODEL (step $(h5dump -a step "$MODEL" | sed -n 's/.*(0): //p'))"
mpirun --oversubscribe --bind-to none -np "$NP" "$BIN" eval "$SRC/configs/paper/he_misclustering.yaml" \
  N=64 model.n_embd=64 model.n_layer=4 model.n_task_embd=64 eval.tasks_per_setting="$T" \
  --checkpoint "$MODEL" --out "$TMP/a.h5" >"$TMP/log" 2>&1 || { cat "$TMP/log"; exit 1; }
"$PY" - "$TMP/a.h5" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
m = np.array([s.decode() for s in f["method"][()]])
s, mis = f["setting"][()], f["misclustering"][()]
labels = [x.decode() for x in f["settings/label"][()]]
cols = ["tgmm", "em@1", "em@2", "em@4", "em@8", "em@100", "lloyd@100", "oracle"]
print("| setting | TGMM (labels) | " + " | ".join(c.replace("em@", "EM@").replace("lloyd@", "Lloyd@") for c in cols[1:]) + " |")
print("|---" * len(cols) + "|---|")
for i, lab in enumerate(labels):
    v = [mis[(s == i) & (m == c)].mean() for c in cols]
    n = int(((s == i) & (m == "tgmm")).sum())
    print(f"| {lab} ({n}) | " + " | ".join(f"{x:.3f}" for x in v) + " |")
PY
