#!/usr/bin/env bash
# model.predict_scales: an isotropic family whose component scale the model must estimate (Lee et
# al.'s Set Transformer family has standard deviation 0.3). The read-out then predicts scales
# (training has a scales term, eval stores /pred_scales and an l2_scales for tgmm, and scores
# TGMM's log-likelihood with its predicted scales); without the key nothing changes; the model
# learns the scale (l2_scales of tgmm falls below that of the scale-1 guess); 1 and 2 ranks give
# the same training.
source "$(dirname "$0")/lib.sh"
TINY=(d=2 "K=[2]" N=48 component_scale=0.3 model.n_embd=16 model.n_layer=1 model.n_head=2
      model.attention=bidirectional model.positions=none train.batch_size=8 train.threads=1
      train.lr=3e-3 train.eval_every=0 eval.tasks_per_setting=16 "eval.methods=[tgmm, truth]"
      eval.save_predictions=true)
train() { # NAME RANKS STEPS ARGS...
  local name=$1 np=$2 steps=$3; shift 3
  mpi "$np" "$TGMM_BIN" train "${TINY[@]}" train.steps="$steps" train.checkpoint_every="$steps" \
    train.run_dir="$WORK/$name" "$@" >"$WORK/$name.log" 2>&1
}
scales_term() { awk '$1 == "step" && $2 == 1 { for (i = 1; i < NF; i++) if ($i == "scales") print $(i + 1) }' "$1"; }

train on 1 1 model.predict_scales=true
train off 1 1
s_on=$(scales_term "$WORK/on/train.log"); s_off=$(scales_term "$WORK/off/train.log")
if awk -v a="$s_on" -v b="$s_off" 'BEGIN { exit !(a > 0.01 && b == 0) }'; then
  ok "train: a scales term with model.predict_scales ($s_on), none without ($s_off)"
else fail "scales term: on '$s_on', off '$s_off'"; cat "$WORK/on.log"; fi

train learn 1 150 model.predict_scales=true
train learn2 2 150 model.predict_scales=true
if cmp -s <(grep '^step' "$WORK/learn/train.log" | awk '{print $3}') \
          <(grep '^step' "$WORK/learn2/train.log" | awk '{print $3}'); then
  ok "1 and 2 ranks: the same losses"
else fail "1 vs 2 ranks differ"; fi

ev() { # NAME CHECKPOINT
  "$TGMM_BIN" eval "${TINY[@]}" --checkpoint "$2" --data "$WORK/tasks.h5" --out "$WORK/$1.h5" \
    >"$WORK/$1.elog" 2>&1
}
"$TGMM_BIN" gen "${TINY[@]}" tasks=16 --out "$WORK/tasks.h5" >"$WORK/gen.log" 2>&1 &&
  ev e0 "$WORK/on/ckpt_00000001.h5" && ev e1 "$WORK/learn/ckpt_00000150.h5" &&
  ev eoff "$WORK/off/ckpt_00000001.h5"
rc=$?
if [[ $rc == 0 ]] && /usr/bin/python3 - "$WORK/e0.h5" "$WORK/e1.h5" "$WORK/eoff.h5" "$WORK/tasks.h5" <<'PY'
import sys, h5py, numpy as np
def tgmm(path):
    f = h5py.File(path, "r")
    m = f["method"].asstr()[()]
    return f, m == "tgmm"
f0, t0 = tgmm(sys.argv[1])
f1, t1 = tgmm(sys.argv[2])
fo, to = tgmm(sys.argv[3])
assert "pred_scales" in f1, "no /pred_scales with a scale-predicting model"
sd = f1["pred_scales"][()][t1][:, :2, :]
assert np.all(sd > 0), sd
l0, l1 = f0["l2_scales"][()][t0], f1["l2_scales"][()][t1]
assert np.all(np.isfinite(l1)), "tgmm's l2_scales missing"
guess1 = np.sqrt(2 * 2) * 0.7           # predicting 1 for every standard deviation (K = 2, d = 2)
assert l1.mean() < 0.5 * guess1, f"scale not learnt: l2_scales {l1.mean():.3f} vs {guess1:.3f}"
assert l1.mean() < l0.mean(), (l0.mean(), l1.mean())
assert np.all(np.isnan(fo["l2_scales"][()][to])), "an isotropic model scored scales"
# TGMM's log-likelihood (per sample) is that of its predicted mixture with its predicted scales.
d = h5py.File(sys.argv[4], "r"); x, off = d["x"][()], d["offsets"][()]
w, mu = f1["pred_weights"][()][t1][:, :2], f1["pred_means"][()][t1][:, :2, :]
task = f1["task"][()][t1]
def ll(i, s):
    xi = x[off[task[i]]:off[task[i] + 1]]
    z = (xi[:, None, :] - mu[i][None]) / s[None]
    lp = np.log(w[i])[None] - 0.5 * (z ** 2).sum(2) - np.log(s).sum(1)[None] - np.log(2 * np.pi)
    m = lp.max(1, keepdims=True)
    return float(np.mean(m[:, 0] + np.log(np.exp(lp - m).sum(1))))
got = f1["loglik"][()][t1]
want = np.array([ll(i, sd[i]) for i in range(len(got))])
unit = np.array([ll(i, np.ones_like(sd[i])) for i in range(len(got))])
assert np.allclose(got, want, rtol=1e-6, atol=1e-6), np.c_[got, want][:4]
assert not np.allclose(got, unit, atol=1e-3), "loglik scored with scale 1"
print(f"l2_scales {l0.mean():.3f} -> {l1.mean():.3f} (scale-1 guess {guess1:.3f}); "
      f"loglik {got.mean():.3f} (with scale 1: {unit.mean():.3f})")
PY
then ok "eval: /pred_scales stored, the scale learnt, TGMM's log-likelihood with its scales"
else fail "eval of a scale-predicting model (rc $rc)"; cat "$WORK/e1.elog" "$WORK/gen.log"; fi
finish
