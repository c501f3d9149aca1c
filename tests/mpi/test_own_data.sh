#!/usr/bin/env bash
# Own data: a file written with h5py holding only /x and /offsets (no /K, no truth).
#  - every command that reads a data file (em, lloyd, spectral, eval --data, train --data) refuses
#    it when the config's K lists several values, asking for K=[k] (exit 2, nothing written);
#  - with K=[3], `tgmm em em.save_labels=true` on 2 ranks writes /labels [S] and /resp [S, Kmax]:
#    each row of /resp is the posterior of the written mixture (recomputed with numpy), /labels
#    its argmax, and the labels recover the true clusters.
source "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1
/usr/bin/python3 - <<'PY'
import h5py, numpy as np
r = np.random.default_rng(0)
mu = np.array([[0, 0], [6, 0], [0, 6]], float)
xs, zs, off = [], [], [0]
for n in (300, 200):  # two tasks of 3 clusters each
    z = r.integers(0, 3, n); xs.append(mu[z] + r.normal(size=(n, 2))); zs.append(z)
    off.append(off[-1] + n)
with h5py.File("own.h5", "w") as f:
    f["x"] = np.concatenate(xs); f["offsets"] = np.array(off, dtype=np.int64)
np.save("truth_z.npy", np.concatenate(zs))
PY
TINY=(model.n_embd=32 model.n_layer=2 model.n_head=2 model.n_positions=512 N=32 d=2 K=[2,3]
      train.batch_size=2 train.threads=1 train.checkpoint_every=0)
mpi 1 "$TGMM_BIN" train "${TINY[@]}" train.steps=1 train.run_dir=run --quiet >train.log 2>&1 ||
  { fail "tiny training"; cat train.log; }
refuses() { # what command...
  local what="$1"; shift
  "$@" >refuse.log 2>&1; local rc=$?
  if [[ $rc == 2 ]] && grep -q "own.h5: no dataset /K .*give the file's K with K=\[k\]" refuse.log &&
     [[ ! -e out.h5 ]]; then ok "$what: a file without /K and several K refused, asking for K=[k]"
  else fail "$what (rc $rc)"; cat refuse.log; fi
}
refuses "tgmm em" "$TGMM_BIN" em d=2 K=[2,3] --data own.h5 --out out.h5
refuses "tgmm lloyd" "$TGMM_BIN" lloyd d=2 K=[2,3] --data own.h5 --out out.h5
refuses "tgmm spectral" "$TGMM_BIN" spectral d=2 K=[2,3] --data own.h5 --out out.h5
refuses "tgmm eval --data" "$TGMM_BIN" eval --checkpoint run --data own.h5 --out out.h5
refuses "tgmm train --data" "$TGMM_BIN" train "${TINY[@]}" train.steps=1 train.run_dir=run2 --data own.h5
[[ ! -e run2/ckpt_00000001.h5 ]] || fail "train --data refused but wrote a checkpoint"

mpi 2 "$TGMM_BIN" em d=2 K=[3] em.init=kmeans++ em.restarts=3 em.save_labels=true --data own.h5 \
  --out em.h5 >em.log 2>&1 || { fail "em with K=[3]"; cat em.log; }
if /usr/bin/python3 - <<'PY'
import h5py, numpy as np
from itertools import permutations
f = h5py.File("em.h5", "r")
lab, resp, off = f["labels"][()], f["resp"][()], h5py.File("own.h5", "r")["offsets"][()]
x = h5py.File("own.h5", "r")["x"][()]
z = np.load("truth_z.npy")
assert lab.shape == (500,) and resp.shape == (500, 3), (lab.shape, resp.shape)
for t in range(2):
    w, mu = f["weights"][t], f["means"][t]
    xs = x[off[t]:off[t + 1]]
    logp = np.log(w)[None, :] - 0.5 * ((xs[:, None, :] - mu[None]) ** 2).sum(-1)
    post = np.exp(logp - logp.max(1, keepdims=True)); post /= post.sum(1, keepdims=True)
    err = np.abs(post - resp[off[t]:off[t + 1]]).max()
    assert err < 1e-9, f"task {t}: /resp differs from the posterior by {err}"
    assert np.array_equal(lab[off[t]:off[t + 1]], post.argmax(1)), f"task {t}: /labels"
    acc = max(np.mean(np.array(p)[lab[off[t]:off[t + 1]]] == z[off[t]:off[t + 1]])
              for p in permutations(range(3)))
    assert acc > 0.95, f"task {t}: labels recover {acc:.3f} of the true clusters"
print("labels and responsibilities ok")
PY
then ok "em.save_labels on 2 ranks: /resp is the posterior of the fit, /labels its argmax, clusters recovered"
else fail "em.save_labels output"; fi
"$TGMM_BIN" em d=2 K=[3] em.save_labels=true distribute=samples --data own.h5 --out s.h5 >s.log 2>&1
[[ $? == 2 && ! -e s.h5 ]] && grep -q "em.save_labels = true needs distribute = tasks" s.log &&
  ok "em.save_labels with distribute=samples refused" || { fail "save_labels + samples"; cat s.log; }
finish
