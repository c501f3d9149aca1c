#!/usr/bin/env bash
# The pretrained model shipped in configs/pretrained/ (the only .h5 there) learned what the paper
# says: on 128 evaluation tasks per K (d = 8, N = 64, K = 2..5; stream 'eval', never a training
# or held-out task), its mean l2 error of means is at most 0.8 x the paper's EM's (random start,
# one run) for every K >= 3 — a margin, so that another draw of tasks would agree. Also: the file
# is small, holds parameters only, and `tgmm eval` reads it on 2 ranks.
source "$(dirname "$0")/lib.sh"
models=("$TGMM_SRC"/configs/pretrained/*.h5)
if [[ ${#models[@]} != 1 || ! -f ${models[0]} ]]; then fail "expected exactly one .h5 in configs/pretrained: ${models[*]}"; finish; fi
model=${models[0]}
size=$(stat -c %s "$model")
((size < 5 * 1024 * 1024)) && ok "$(basename "$model"): $size bytes" || fail "$model is $size bytes (limit 5 MB)"
if grep -qE "adam_m|adam_v|^step" <<<"$(h5ls "$model")"; then fail "$model holds optimizer state"; else ok "parameters only"; fi

mpi 2 "$TGMM_BIN" eval "$TGMM_SRC/configs/laptop.yaml" eval.tasks_per_setting=128 \
  "eval.methods=[tgmm,em,spectral,oracle]" "eval.grid.K=[2,3,4,5]" \
  --checkpoint "$model" --out "$WORK/pre.h5" >"$WORK/eval.log" 2>&1 || { fail "eval failed"; cat "$WORK/eval.log"; finish; }
/usr/bin/python3 - "$WORK/pre.h5" <<'PY' && ok "TGMM <= 0.8 x EM at every K >= 3" || fail "shipped model not below 0.8 x EM"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
m = np.array([s.decode() for s in f["method"][()]])
st = np.array([s.decode() for s in f["status"][()]])
K, l2 = f["K"][()], f["l2_means"][()]
bad = 0
for k in sorted(set(K)):
    row = {}
    for meth in ("tgmm", "em", "spectral", "oracle"):
        sel = (m == meth) & (K == k)
        assert (st[sel] == "ok").all() or meth == "spectral", f"{meth} K={k}: rows not ok"
        row[meth] = l2[sel & (st == "ok")].mean()
    n = int(((m == "tgmm") & (K == k)).sum())
    ratio = row["tgmm"] / row["em"]
    verdict = "ok" if k < 3 or ratio <= 0.8 else "FAIL"
    bad += verdict == "FAIL"
    print(f"K={k} ({n} tasks): tgmm {row['tgmm']:.4f}  em {row['em']:.4f}  spectral "
          f"{row['spectral']:.4f}  oracle {row['oracle']:.4f}  tgmm/em {ratio:.2f}  {verdict}")
    assert n == 128
sys.exit(1 if bad else 0)
PY
finish
