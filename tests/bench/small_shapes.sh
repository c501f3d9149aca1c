#!/usr/bin/env bash
# small_shapes.sh — the small shapes users run, side by side in one run against this machine's
# cblas_sgemm rate (tests/tools/sgemm_rate.c, same thread count, measured between the programs
# in every round) and against PyTorch where an equivalent exists (the same OpenBLAS kernels:
# OPENBLAS_CORETYPE = the core tgmm runs, for tgmm, sgemm_rate and PyTorch):
#   - the laptop training step (configs/laptop.yaml: 4 x 64, 4 heads, bidirectional, Hungarian
#     loss, N_i ~ U{32..64}, 16 tasks per K) at 1 and 2 threads: s / step, GFLOP/s (train.log's
#     analytic count), share of the sgemm rate; PyTorch: tests/bench/torch_step.py;
#   - the Mamba2 backbone at laptop size (the same setting with model.backbone = mamba2, 4 heads
#     of width 32 (2 x 64 inner), state 16, 2 groups, conv 4) at 1 and 2 threads; PyTorch:
#     tests/bench/mamba2_torch_step.py;
#   - TGMM inference of the shipped laptop model (configs/pretrained/tgmm_laptop.h5, `tgmm eval`,
#     one rank, one thread) at N = 64 and N = 128: tasks / s, s / task (eval's /seconds), GFLOP/s
#     (the forward's analytic count: a third of the training step's), share of the one-thread
#     sgemm rate, and the cost against ten k-means++ EM restarts on the same tasks (`tgmm eval`,
#     em.init = kmeans++, em.restarts = 10, one rank), with the bound row: the FLOPs inference does
#     (the analytic count less read_in's task-embedding part, folded into a bias per K) at 100%
#     of the measured sgemm rate, against the same EM; and TGMM's tasks / s for eval.chunk in
#     CHUNKS at N = 64 (the chunk that sets eval.chunk's default).
# Every program runs once per round, the rounds interleave them (A B C ... A B C ...), and each
# figure is the best round (least s / step of the round's median step; the highest sgemm rate), so
# a background load shared by all skews the ratios little. The CPU, the OpenBLAS core and the
# load average (before and after) are printed.
#
# usage: tests/bench/small_shapes.sh [ROUNDS (default 3)] [STEPS (default 8)] [TASKS per K (default 256)]
# env:   TGMM_BUILD (default ./build), PYTHON (default /usr/bin/python3), CHUNK (eval.chunk of the
#        inference rows; default: the config's), CHUNKS (default "8 16 32 64 128"; empty: no sweep),
#        TORCH=0 (no PyTorch rows)
set -euo pipefail
ROUNDS=${1:-3}
STEPS=${2:-8}
TASKS=${3:-256}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${TGMM_BUILD:-$SRC/build}
PY=${PYTHON:-/usr/bin/python3}
BIN=$BUILD/tgmm
CHUNKS=${CHUNKS-8 16 32 64 128}
TORCH=${TORCH:-1}
MODEL=$SRC/configs/pretrained/tgmm_laptop.h5
LAPTOP=$SRC/configs/laptop.yaml
for f in "$BIN" "$BUILD/sgemm_rate"; do
  [[ -x $f ]] || { echo "missing $f: cmake --build $BUILD" >&2; exit 2; }
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
CORE=$("$BIN" --version | sed -n 's/.*OpenBLAS core //p')
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-$CORE}
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); $(nproc --all) cores; load $LOAD0"
echo "OpenBLAS core: tgmm $CORE (openblas_get_corename); OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE for tgmm, sgemm_rate and PyTorch$([[ $TORCH == 1 ]] && echo " $("$PY" -c 'import torch; print(torch.__version__)')")"
echo "tgmm: $("$BIN" --version | cut -d, -f1); $ROUNDS rounds, $STEPS timed steps per training run, $TASKS tasks per K for inference"

MAMBA2=(model.backbone=mamba2 model.ssm_heads=4 model.ssm_head_dim=32 model.ssm_state=16
        model.ssm_groups=2 model.conv_kernel=4)
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
# name threads overrides...: the run's median step seconds and its GFLOP per step -> $TMP/name.th
train_row() {
  local name=$1 th=$2; shift 2
  rm -rf "$TMP/run"
  "$BIN" train "$LAPTOP" "$@" train.steps=$((STEPS + 1)) train.threads="$th" train.run_dir="$TMP/run" \
    train.checkpoint_every=0 train.eval_every=0 train.resume=never >"$TMP/train.out" 2>&1 ||
    { cat "$TMP/train.out"; exit 1; }
  local s g
  s=$(awk '$1 == "step" && $2 > 1 {for (i = 1; i < NF; i++) if ($i == "seconds") print $(i+1)}' "$TMP/run/train.log" | median)
  g=$(awk '$1 == "step" && $2 > 1 {for (i = 1; i < NF; i++) if ($i == "gflop") print $(i+1)}' "$TMP/run/train.log" | median)
  echo "$s $g" >>"$TMP/$name.$th"
}
torch_row() { # name threads script args...
  local name=$1 th=$2 script=$3; shift 3
  OMP_NUM_THREADS=$th "$PY" "$SRC/tests/bench/$script" "$th" "$STEPS" "$@" |
    awk '/torch_step_seconds/ {print $2}' >>"$TMP/$name.$th"
}
sgemm_row() { "$BUILD/sgemm_rate" "$1" | awk '/^mean/ {print $2}' >>"$TMP/sgemm.$1"; }
eval_run() { # out N chunk methods overrides...
  local out=$1 n=$2 ch=$3 meth=$4; shift 4
  local chunk=()
  [[ -n $ch ]] && chunk=(eval.chunk="$ch")
  "$BIN" eval "$LAPTOP" eval.tasks_per_setting="$TASKS" "eval.grid.K=[2,3,4,5]" "eval.grid.N=[$n]" \
    "eval.methods=[$meth]" "${chunk[@]}" "$@" --out "$out" >"$TMP/eval.out" 2>&1 ||
    { cat "$TMP/eval.out"; exit 1; }
}

for r in $(seq 1 "$ROUNDS"); do
  echo "== round $r of $ROUNDS (load $(cut -d' ' -f1-3 /proc/loadavg))"
  for th in 1 2; do
    sgemm_row "$th"
    train_row laptop "$th"
    [[ $TORCH == 1 ]] && torch_row torch_laptop "$th" torch_step.py 4 64 4 8 64 16 bidirectional hungarian
    train_row mamba2 "$th" "${MAMBA2[@]}"
    [[ $TORCH == 1 ]] && torch_row torch_mamba2 "$th" mamba2_torch_step.py 4 64 8 64 4 32 16 2 4 16 hungarian
  done
  for n in 64 128; do
    eval_run "$TMP/tgmm_$n.$r.h5" "$n" "${CHUNK:-}" tgmm --checkpoint "$MODEL"
    eval_run "$TMP/em_$n.$r.h5" "$n" "" em em.init=kmeans++ em.restarts=10
  done
  for ch in $CHUNKS; do
    eval_run "$TMP/chunk_$ch.$r.h5" 64 "$ch" tgmm --checkpoint "$MODEL"
  done
  sgemm_row 1
done

"$PY" - "$TMP" "$ROUNDS" "$MODEL" "$CHUNKS" "$TORCH" <<'PY'
import glob, os, sys
import h5py, numpy as np, yaml
tmp, rounds, model, chunks, torch_on = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].split(), sys.argv[5] == "1"

def lines(name):
    p = os.path.join(tmp, name)
    return [list(map(float, l.split())) for l in open(p)] if os.path.exists(p) else []

sg = {th: max(v[0] for v in lines(f"sgemm.{th}")) for th in (1, 2)}
print(f"\ncblas_sgemm rate (best of {rounds} rounds): {sg[1]:.1f} GFLOP/s at 1 thread, {sg[2]:.1f} at 2 threads\n")

print("| training step (best of rounds; median step of a run) | threads | s / step | GFLOP/s | share of sgemm | tgmm speed-up |")
print("|---|---|---|---|---|---|")
for name, torch, label in (("laptop", "torch_laptop", "laptop transformer"), ("mamba2", "torch_mamba2", "laptop Mamba2")):
    for th in (1, 2):
        runs = lines(f"{name}.{th}")
        s = min(v[0] for v in runs)
        g = [v[1] for v in runs if v[0] == s][0]
        print(f"| {label}, tgmm | {th} | {s:.4f} | {g / s:.1f} | {100 * g / s / sg[th]:.0f}% | |")
        t = lines(f"{torch}.{th}")
        if t:
            ts = min(v[0] for v in t)
            print(f"| {label}, PyTorch | {th} | {ts:.4f} | {g / ts:.1f} | {100 * g / ts / sg[th]:.0f}% | {ts / s:.1f}x |")
print(f"\n(GFLOP per step: tgmm's analytic count of its own step, given to PyTorch too)")

cfg = yaml.safe_load(h5py.File(model, "r").attrs["config"])
m = cfg["model"]
C, L, E, d = m["n_embd"], m["n_layer"], m.get("n_task_embd", 128), cfg["d"]
Q = max(cfg["K"]) if isinstance(cfg["K"], list) else cfg["K"]
W = Q + d
causal = m.get("attention") == "causal"

def fwd_flops(n):  # tgmm_model_step_flops / 3 for one task of n tokens (the mixture read-out)
    lin = 2.0 * n * 12.0 * C * C * L + 2.0 * n * (d + E) * C
    att = 2.0 * 2.0 * (0.5 if causal else 1.0) * n * n * C * L
    return lin + att + 2.0 * n * (2.0 * W * C + 2.0 * Q * W)

def per_task(path, method):
    f = h5py.File(path, "r")
    sel = np.array([s.decode() for s in f["method"][()]]) == method
    sec, N = f["seconds"][()][sel], f["N"][()][sel]
    return sec.mean(), np.mean([fwd_flops(n) for n in N]), np.mean(N)

print("\n| inference, one rank x one thread (best of rounds) | N | tasks / s | ms / task | GFLOP/s | share of sgemm | / 10 k-means++ EM restarts |")
print("|---|---|---|---|---|---|---|")
for n in (64, 128):
    best = min(per_task(p, "tgmm") for p in glob.glob(os.path.join(tmp, f"tgmm_{n}.*.h5")))
    em = min(per_task(p, "em")[0] for p in glob.glob(os.path.join(tmp, f"em_{n}.*.h5")))
    s, fl, nbar = best
    print(f"| TGMM, shipped laptop model | {n} | {1 / s:.0f} | {1e3 * s:.3f} | {fl / s * 1e-9:.1f} | {100 * fl / s * 1e-9 / sg[1]:.0f}% | {s / em:.2f}x |")
    # the bound: the FLOPs inference does (read_in's task-embedding columns are folded into a
    # bias per K, so 2 n E C fewer than the analytic count) at the sgemm rate
    b = (fl - 2.0 * nbar * E * C) * 1e-9 / sg[1]
    print(f"| TGMM's forward at 100% of the sgemm rate (bound) | {n} | {1 / b:.0f} | {1e3 * b:.3f} | {sg[1]:.1f} | 100% | {b / em:.2f}x |")
    print(f"| EM, k-means++ x 10 | {n} | {1 / em:.0f} | {1e3 * em:.3f} | | | 1 |")
if chunks:
    print("\n| eval.chunk (N = 64, TGMM, best of rounds) | " + " | ".join(chunks) + " |")
    print("|---|" + "---|" * len(chunks))
    cells = []
    for ch in chunks:
        s = min(per_task(p, "tgmm")[0] for p in glob.glob(os.path.join(tmp, f"chunk_{ch}.*.h5")))
        cells.append(f"{1 / s:.0f}")
    print("| tasks / s | " + " | ".join(cells) + " |")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg) (before: $LOAD0)"
