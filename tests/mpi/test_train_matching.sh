#!/usr/bin/env bash
# The Hungarian-matched loss in every training mode, and what a trained run hands on:
#  - train.matching=hungarian: data parallel on 1 and 3 ranks agree; bitwise mode gives identical
#    checkpoints on 1 and 2 ranks; a rank killed mid-run and resumed ends identical to an
#    uninterrupted run; train.log names the loss; the same for train.loss=nll, whose learning
#    curve is its loss alone;
#  - train.eval_baselines: metrics.h5 holds EM's, a strong EM's, spectral's and the oracle's
#    held-out levels (the same on 1 and 2 ranks; oracle <= EM); `tgmm report --data RUN_DIR`
#    draws the learning curves (PNG + .gp + .dat);
#  - tgmm export: /params only and the config attribute; train.init_from starts a new run from it
#    (at lr 0 the parameters stay those of the export); a model of other shapes is refused (exit 2);
#  - the label head (model.head = labels) in the same modes: 1 vs 3 ranks, bitwise, kill + resume;
#  - a checkpoint whose stored config lacks keys added later (here train.matching, model.head and
#    their neighbours) resumes: a missing key counts as its default.
source "$(dirname "$0")/lib.sh"
TINY=(model.n_embd=32 model.n_layer=2 model.n_head=2 model.n_positions=64 N=32 d=4 K=[2,3]
      train.batch_size=6 train.lr=1e-3 train.threads=1 train.matching=hungarian
      model.attention=bidirectional model.positions=none)
train() { # name ranks overrides...
  local name="$1" n="$2"; shift 2
  mpi "$n" "$TGMM_BIN" train "${TINY[@]}" train.run_dir="$WORK/$name" "$@" >"$WORK/$name.log" 2>&1
  rc=$?
  [[ $rc == 0 ]] || { fail "$name: train with $n ranks failed (rc $rc)"; cat "$WORK/$name.log"; }
}
max_rel() { /usr/bin/python3 - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r")["params"], h5py.File(sys.argv[2], "r")["params"]
assert set(a) == set(b)
print(max(np.abs(a[n][()] - b[n][()]).max() / max(np.abs(a[n][()]).max(), 1e-30) for n in a))
PY
}

# ---- data parallel, bitwise, kill + resume: the hungarian mixture loss, then the label head ----
modes() { # tag what overrides...
  local t="$1" what="$2"; shift 2
  train ${t}1 1 train.steps=12 train.checkpoint_every=0 train.eval_every=6 train.eval_baselines=true train.eval_tasks=4 "$@"
  train ${t}3 3 train.steps=12 train.checkpoint_every=0 train.eval_every=6 train.eval_baselines=true train.eval_tasks=4 "$@"
  r=$(max_rel "$WORK/${t}1/ckpt_00000012.h5" "$WORK/${t}3/ckpt_00000012.h5")
  /usr/bin/python3 -c "import sys; sys.exit(0 if float('$r') < 1e-3 else 1)" &&
    ok "$what, data parallel: 1 vs 3 ranks agree ($r)" || fail "$what 1 vs 3 ranks: $r"
  local DET=(train.deterministic=true train.chunk=3 train.steps=6 train.checkpoint_every=3)
  train ${t}d1 1 "${DET[@]}" "$@"; train ${t}d2 2 "${DET[@]}" "$@"
  same_datasets "$WORK/${t}d1/ckpt_00000006.h5" "$WORK/${t}d2/ckpt_00000006.h5" >/dev/null &&
    ok "$what, bitwise mode: 1 vs 2 ranks identical" || fail "$what bitwise 1 vs 2 ranks differ"
  TGMM_TEST_DIE_AT=4:1 mpi 2 "$TGMM_BIN" train "${TINY[@]}" "${DET[@]}" "$@" train.run_dir="$WORK/${t}k" >"$WORK/${t}k1.log" 2>&1
  train ${t}k 2 "${DET[@]}" "$@"
  same_datasets "$WORK/${t}d2/ckpt_00000006.h5" "$WORK/${t}k/ckpt_00000006.h5" >/dev/null &&
    grep -q "resuming from .*ckpt_00000003.h5" "$WORK/${t}k.log" &&
    ok "$what: killed at step 4, resumed from step 3, identical end" || fail "$what kill + resume"
}
modes h hungarian
grep -q "hungarian (set-matched) loss" "$WORK/h1/train.log" && ok "train.log names the loss" ||
  fail "train.log does not name the loss"
modes n "nll loss" train.loss=nll
grep -q "nll (the samples' likelihood) loss" "$WORK/n1/train.log" && ok "train.log names the nll loss" ||
  fail "train.log does not name the nll loss"
"$TGMM_BIN" report --data "$WORK/n1" --out "$WORK/ncurves" >"$WORK/nrep.log" 2>&1 &&
  [[ -s $WORK/ncurves.loss.png ]] && grep -q "train.loss = nll" "$WORK/ncurves.loss.gp" &&
  grep -q "unset logscale y" "$WORK/ncurves.loss.gp" &&
  ok "report --data RUN_DIR of an nll run: its loss alone, no log scale" ||
  { fail "report curves of an nll run"; cat "$WORK/nrep.log"; }
modes l "label head" model.head=labels
train l1v 1 train.steps=2 train.checkpoint_every=0 model.head=labels --verbose
lt=$(h5ls -r "$WORK/l1/ckpt_00000012.h5")
grep -q "params/label_head.weight" <<<"$lt" && ! grep -q "params/readout" <<<"$lt" &&
  grep -q "labels [0-9.]*)" "$WORK/l1v.log" && ok "label head: its tensors, no read-out; the log shows the label loss" ||
  fail "label head checkpoint or log"

# ---- reference levels and learning curves ----
/usr/bin/python3 - "$WORK/h1/metrics.h5" "$WORK/h3/metrics.h5" <<'PY' && ok "baseline levels stored, equal on 1 and 3 ranks, oracle <= EM" || fail "baseline levels"
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
for m in ("em", "em_strong", "spectral", "oracle"):
    for k in ("l2_means", "l2_weights", "accuracy"):
        x, y = a[f"eval/baselines/{m}/{k}"][()], b[f"eval/baselines/{m}/{k}"][()]
        assert x.shape == (2,) and np.allclose(x, y, rtol=1e-12, equal_nan=True), (m, k, x, y)
em, orc = a["eval/baselines/em/l2_means"][()], a["eval/baselines/oracle/l2_means"][()]
assert (orc <= em + 1e-12).all(), (orc, em)
PY
"$TGMM_BIN" report --data "$WORK/h1" --out "$WORK/curves" >"$WORK/rep.log" 2>&1
rc=$?
missing=""
for f in loss.png loss.gp loss.dat heldout.png heldout.gp heldout.dat; do [[ -s $WORK/curves.$f ]] || missing+=" $f"; done
if [[ $rc == 0 && -z $missing ]] && grep -q "dashed: EM" "$WORK/curves.heldout.gp" && grep -q "| 3 |" "$WORK/rep.log"; then
  ok "report --data RUN_DIR: learning curves with EM/spectral levels"
else fail "report curves: rc $rc, missing:$missing"; cat "$WORK/rep.log"; fi

# ---- export, eval of the export, init_from ----
mpi 2 "$TGMM_BIN" export --checkpoint "$WORK/h1" --out "$WORK/m.h5" >"$WORK/ex.log" 2>&1
rc=$?; ls_m=$(h5ls "$WORK/m.h5")
if [[ $rc == 0 ]] && ! grep -qE "adam|step" <<<"$ls_m" && h5dump -a config "$WORK/m.h5" >/dev/null 2>&1; then
  ok "export: parameters and config only"
else fail "export"; cat "$WORK/ex.log"; h5ls "$WORK/m.h5"; fi
train i 1 train.init_from="$WORK/m.h5" train.lr=0 train.steps=1 train.checkpoint_every=0
r=$(max_rel "$WORK/m.h5" "$WORK/i/ckpt_00000001.h5")
[[ $r == 0.0 ]] && grep -q "train.init_from" "$WORK/i.log" && ok "init_from: parameters of the export (lr 0)" ||
  fail "init_from: difference $r"
# a run directory stands for its newest checkpoint (the export came from it: same parameters)
train i2 1 train.init_from="$WORK/h1" train.lr=0 train.steps=1 train.checkpoint_every=0
r=$(max_rel "$WORK/m.h5" "$WORK/i2/ckpt_00000001.h5")
[[ $r == 0.0 ]] && grep -q "train.init_from" "$WORK/i2.log" && ok "init_from: a run directory = its newest checkpoint" ||
  { fail "init_from a run directory: rc $rc, difference $r"; cat "$WORK/i2.log"; }
mpi 2 "$TGMM_BIN" train "${TINY[@]}" model.n_embd=48 train.init_from="$WORK/m.h5" train.steps=1 \
  train.run_dir="$WORK/bad" >"$WORK/bad.log" 2>&1
rc=$?
[[ $rc == 2 ]] && grep -q "has shape" "$WORK/bad.log" && ok "init_from with other shapes refused (exit 2)" ||
  { fail "init_from other shapes: rc $rc"; cat "$WORK/bad.log"; }

# ---- a checkpoint of an older version (no train.matching etc. in its config) resumes ----
train old 1 train.steps=3 train.checkpoint_every=3 train.matching=canonical
/usr/bin/python3 - "$WORK/old/ckpt_00000003.h5" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    text = f.attrs["config"]
    text = text.decode() if isinstance(text, bytes) else text
    keep = [l for l in text.splitlines() if not l.strip().startswith(("matching:", "init_from:", "eval_baselines:", "head:", "predict_scales:"))]
    del f.attrs["config"]
    f.attrs.create("config", np.bytes_("\n".join(keep) + "\n"))
PY
stripped=$(h5dump -a config "$WORK/old/ckpt_00000003.h5") # (no pipe into grep -q: pipefail)
grep -qE "matching|[^_]head:|predict_scales" <<<"$stripped" && fail "could not strip the keys"
train old 1 train.steps=5 train.checkpoint_every=3 train.matching=canonical
[[ $rc == 0 ]] && grep -q "resuming from .*ckpt_00000003.h5" "$WORK/old.log" &&
  ok "a checkpoint without the new keys resumes (defaults)" || fail "old checkpoint resume"
finish
