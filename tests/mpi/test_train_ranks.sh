#!/usr/bin/env bash
# tgmm train: the same training on any number of ranks.
#  - normal mode, 20 steps, 1/2/3 ranks: per tensor max|diff| / max|value| <= 1e-4;
#  - bitwise mode (train.deterministic, chunk gradients summed exactly in fixed point with one
#    MPI_Allreduce): 12 chunks per step -> 1, 2, 3, 4 and 8 ranks (8: uneven shares of 2 and 1
#    chunks) give checkpoints whose datasets are identical value for value (params, moments,
#    grads, step); 1 rank x 1 thread = 2 ranks x 2 threads = 1 rank x 2 threads; 3 chunks on 2
#    ranks (uneven) and on 4 ranks (one idle) = 1 rank;
#  - a dead rank (kill -9) makes the job fail fast.
# The rank and thread agreement checks run for both backbones (transformer, mamba2).
source "$(dirname "$0")/lib.sh"
TINY=(model.n_embd=32 model.n_layer=2 model.n_head=2 model.n_positions=64 N=32 d=4 K=[2,3]
      train.batch_size=6 train.lr=1e-4 train.threads=1 train.checkpoint_every=0)
MAMBA2=(model.backbone=mamba2 model.ssm_heads=4 model.ssm_head_dim=8 model.ssm_state=4
        model.ssm_groups=2 model.conv_kernel=4)

train() { # name ranks overrides...
  local name="$1" n="$2"; shift 2
  if mpi "$n" "$TGMM_BIN" train "${TINY[@]}" train.run_dir="$WORK/$name" "$@" >"$WORK/$name.log" 2>&1; then
    return 0
  fi
  fail "$name: train with $n ranks failed"; cat "$WORK/$name.log"; return 1
}

# Per-tensor relative agreement of /params between two checkpoints. One exception: the key third
# of each attn.qkv.bias. Its gradient is exactly zero in exact arithmetic (softmax is invariant
# to adding a constant to a query row's scores), so its value is pure rounding noise that AdamW
# normalises into steps; it is checked to stay negligible (< 1e-3 of the tensor's largest value).
close_params() { /usr/bin/python3 - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
worst = 0.0
for n in a["params"]:
    x, y = a["params"][n][()], b["params"][n][()]
    if n.endswith("attn.qkv.bias"):
        C = x.shape[0] // 3
        top = np.abs(x).max()
        for v in (x, y):
            if np.abs(v[C:2 * C]).max() > 1e-3 * top:
                sys.exit(f"params/{n}: key bias not negligible")
        x, y = np.delete(x, np.s_[C:2 * C]), np.delete(y, np.s_[C:2 * C])
    r = np.abs(x - y).max() / max(np.abs(x).max(), 1e-30)
    worst = max(worst, r)
    if r > 1e-4:
        sys.exit(f"params/{n}: relative difference {r:.3g} > 1e-4")
print(f"worst relative difference {worst:.3g}")
PY
}

# Normal mode on 1/2/3 ranks, bitwise mode on 1..4 ranks and on threads: agree_on_ranks LABEL
# PREFIX overrides...
agree_on_ranks() {
  local label="$1" b="$2"; shift 2
  local extra=("$@")
  for n in 1 2 3; do train ${b}norm$n $n train.steps=20 "${extra[@]}"; done
  for n in 2 3; do
    if close_params "$WORK/${b}norm1/ckpt_00000020.h5" "$WORK/${b}norm$n/ckpt_00000020.h5"; then
      ok "${label}normal mode: 1 vs $n ranks agree to 1e-4"
    else fail "${label}normal mode: 1 vs $n ranks"; fi
  done

  # Bitwise mode: B = 12 tasks, chunk 1 -> 12 chunks (and chunk 4 -> 3 chunks).
  DET=(train.deterministic=true train.chunk=1 train.steps=8 train.save_grads=true)
  for n in 1 2 3 4 8; do train ${b}det$n $n "${DET[@]}" "${extra[@]}"; done
  for n in 2 3 4 8; do
    if same_datasets "$WORK/${b}det1/ckpt_00000008.h5" "$WORK/${b}det$n/ckpt_00000008.h5"; then
      ok "${label}bitwise mode: 1 vs $n ranks identical"
    else fail "${label}bitwise mode: 1 vs $n ranks differ"; fi
  done
  # Chunks of 6 tasks (~140 tokens: several fixed work blocks per layer) on 1 rank x 1 thread,
  # 2 ranks x 2 threads and 1 rank x 2 threads.
  train ${b}dett1 1 train.deterministic=true train.chunk=6 train.steps=8 "${extra[@]}"
  train ${b}dett2 2 train.deterministic=true train.chunk=6 train.steps=8 train.threads=2 "${extra[@]}"
  train ${b}dett3 1 train.deterministic=true train.chunk=6 train.steps=8 train.threads=2 "${extra[@]}"
  for v in dett2 dett3; do
    if same_datasets "$WORK/${b}dett1/ckpt_00000008.h5" "$WORK/${b}$v/ckpt_00000008.h5"; then
      ok "${label}bitwise mode: 1 rank x 1 thread vs $v identical"
    else fail "${label}bitwise mode: 1 x 1 vs $v differ"; fi
  done
  for n in 1 2 4; do train ${b}detc$n $n train.deterministic=true train.chunk=4 train.steps=8 "${extra[@]}"; done
  for n in 2 4; do
    if same_datasets "$WORK/${b}detc1/ckpt_00000008.h5" "$WORK/${b}detc$n/ckpt_00000008.h5"; then
      ok "${label}bitwise mode, 3 chunks: 1 vs $n ranks identical (uneven shares / an idle rank)"
    else fail "${label}bitwise mode, 3 chunks: 1 vs $n ranks differ"; fi
  done
}
agree_on_ranks "" ""
agree_on_ranks "mamba2: " m2_ "${MAMBA2[@]}"

# A rank killed with -9 mid-run: mpirun must exit non-zero soon, not hang.
timeout 120 mpirun --oversubscribe --bind-to none -np 2 "$TGMM_BIN" train "${TINY[@]}" \
  train.run_dir="$WORK/dead" train.steps=1000000 >"$WORK/dead.log" 2>&1 &
mpid=$!
for _ in $(seq 200); do grep -q "^step 2 " "$WORK/dead/train.log" 2>/dev/null && break; sleep 0.1; done
runner=$(pgrep -P "$mpid" | head -1)                 # mpirun (child of timeout)
victim=$(pgrep -P "${runner:-0}" -f "train" | tail -1) # one of its ranks
t0=$(date +%s)
if [[ -n $victim ]]; then kill -9 "$victim"; fi
wait "$mpid"; rc=$?
dt=$(( $(date +%s) - t0 ))
if [[ -n $victim && $rc != 0 && $rc != 124 && $dt -le 30 ]]; then
  ok "dead rank: mpirun exited with $rc after ${dt} s"
else fail "dead rank: victim '$victim', rc $rc after ${dt} s"; tail -5 "$WORK/dead.log"; fi
finish
